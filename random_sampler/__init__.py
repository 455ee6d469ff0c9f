"""The double-random draw core (双随机): NumPy arrays in, arrays out.

Pure: imports no database, web or task-queue code. The draw itself arrives with issue 3.
"""
