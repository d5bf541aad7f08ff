# A file from the Python 2 era, as old wheels still ship them (tests, compat modules):
# not valid in any Python 3.
print "packaging"
