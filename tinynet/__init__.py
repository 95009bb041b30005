"""tinynet: the loss and exact analytic gradients of small multilayer
perceptrons, fast, from Python.

``tinynet.MLP()`` is the seed network (3 inputs, 4 sigmoid hidden units,
1 sigmoid output, no biases, mean squared error); ``tinynet.reference`` is a
pure-NumPy implementation of the same maths, written to be read.
"""
from tinynet._version import __version__
from tinynet._mlp import MLP
from tinynet._config import show_config
from tinynet._fit import History, fit, plot_history
from tinynet._gradcheck import GradCheck, check_grad
from tinynet._io import Model, load, read_model, save
from tinynet import reference

__all__ = ["MLP", "fit", "History", "plot_history", "check_grad", "GradCheck",
           "save", "load", "read_model", "Model", "reference", "show_config",
           "__version__"]
