# What zsh's completion system offers for a command line, one candidate a line:
#   zsh -f zsh_complete.zsh 'rendezvous-di run --rdzv-b'
# An interactive zsh on a pseudo-terminal (zpty) with compinit and the code of
# `rendezvous-di completion zsh`; compadd is wrapped to print what it is given, then
# a Tab is typed. Candidates are marked with \036 and the end with \035, so the
# terminal's echo of the typed lines is never taken for one.
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z 'PROMPT=; RPROMPT=; HIT=$(printf "\036"); END=$(printf "\035")'
zpty -w z 'autoload -U compinit; compinit -u -D'
zpty -w z 'eval "$(rendezvous-di completion zsh)"'
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  local h
  for h in $__hits; do print -r -- "$HIT$h"; done
}'
zpty -w z 'finish () { print -r -- "$END"; exit }; comppostfuncs=(finish)'
zpty -w -n z "$1"$'\t'
local line
while zpty -r z line; do
  if [[ $line == *$'\035'* ]]; then break; fi
  if [[ $line == *$'\036'* ]]; then print -r -- "${${line#*$'\036'}%%$'\r'*}"; fi
done
zpty -d z
