"""The built-in admission checks: ``network`` (group), ``disk`` and ``gpu`` (node).

Each module is one check: a callable with its ``admission_*`` declaration,
written as a plugin's would be, so it serves as the example of the format.
"""
