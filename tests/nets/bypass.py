"""UltraNet with its bypass (MixQ's UltraNetBypass) on a 3x32x64 image: a fork whose one branch is
reorganized (space-to-depth 2x2) and concatenated with the pooled branch after three convs."""
from models.mixq import UltraNetBypass
from tests.nets.common import calibrated


def make_model():
    return calibrated(UltraNetBypass(), (3, 32, 64))
