"""Neural networks on the autograd engine (neurons, layers, losses, optimisers).

Not built yet: this package is reserved in the distribution so the layout is fixed; see the
project issues for what it will hold.
"""
