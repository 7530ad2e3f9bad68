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
from nn.activations import softmax
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
from nn.tensor_layers import BatchNorm1d, Dropout, Linear, ReLU, Sequential, Sigmoid, Tanh
from nn.train import History, TrainingDiverged, evaluate, fit

__all__ = [
    "MLP",
    "SGD",
    "AdaGrad",
    "Adam",
    "BatchNorm1d",
    "Dropout",
    "History",
    "InverseSqrtDecay",
    "InverseTimeDecay",
    "Layer",
    "Linear",
    "Module",
    "Momentum",
    "Nadam",
    "Nesterov",
    "Neuron",
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
    "softmax",
    "train",
]
