"""The applicant's template: a workbook per action with dropdowns, hints,
the action's rules in words and a live panel that counts as the auditor does.

``workbook``: the sheets; ``panel``: the live consortium panel's formulas.
"""
