"""Neural networks on the autograd engine: the lectures' "build a network, define a loss,
learn with gradient descent", one scalar gate at a time.

>>> from nn import MLP
>>> model = MLP(2, [4, 1], activation="tanh", seed=0)
>>> score = model([1.0, -1.0])
>>> len(model.parameters())
17
>>> model.parameters()[0].label
'layer1.neuron0.w0'
"""

from nn import datasets, losses, optim, train
from nn.activations import prelu, softmax
from nn.conv_layers import Conv2d, Flatten, MaxPool2d
from nn.layers import MLP, Layer, Neuron
from nn.module import Module, Parameter
from nn.optim import (
    SGD,
    AdaGrad,
    Adam,
    InverseSqrtDecay,
    InverseTimeDecay,
    Momentum,
    Nadam,
    Nesterov,
    RMSProp,
    Schedule,
    StepDecay,
)
from nn.scaling import Standardizer
from nn.tensor_layers import (
    BatchNorm1d,
    Dropout,
    Linear,
    Maxout,
    PReLU,
    ReLU,
    Sequential,
    Sigmoid,
    Tanh,
)
from nn.train import History, TrainingDiverged, evaluate, fit

__all__ = [
    "MLP",
    "SGD",
    "AdaGrad",
    "Adam",
    "BatchNorm1d",
    "Conv2d",
    "Dropout",
    "Flatten",
    "History",
    "InverseSqrtDecay",
    "InverseTimeDecay",
    "Layer",
    "Linear",
    "MaxPool2d",
    "Maxout",
    "Module",
    "Momentum",
    "Nadam",
    "Nesterov",
    "Neuron",
    "PReLU",
    "Parameter",
    "RMSProp",
    "ReLU",
    "Schedule",
    "Sequential",
    "Sigmoid",
    "Standardizer",
    "StepDecay",
    "Tanh",
    "TrainingDiverged",
    "datasets",
    "evaluate",
    "fit",
    "losses",
    "optim",
    "prelu",
    "softmax",
    "train",
]
