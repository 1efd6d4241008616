"""The article's first example (Conv1d) with convlab instead of torch."""
import numpy as np

import convlab
import convlab.nn as nn

convlab.manual_seed(0)
conv_layers = [nn.Conv1d(16, 33, 3, stride=2),
               nn.Conv1d(16, 33, 3, stride=2, padding=2),
               nn.Conv1d(16, 33, 3, stride=2, dilation=3),
               nn.Conv1d(16, 24, 3, stride=2, groups=2)]
input_data = np.random.default_rng(0).standard_normal((20, 16, 50), dtype=np.float32)
for layer in conv_layers:
    print(layer, "->", layer(input_data).shape)
