"""Credit-risk scorecards (信用风险分类): NumPy arrays in, arrays out.

Pure: imports no database, web or task-queue code. The scorecards arrive with issue 4.
"""
