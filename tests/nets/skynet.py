"""SkyNetk5 (MixQ's SkyNet with 5x5 depthwise convs) on a 3x16x32 image: 2D depthwise and pointwise
convs, max pools between blocks, a 1x1 head without bias."""
from models.mixq import SkyNet
from tests.nets.common import calibrated


def make_model():
    return calibrated(SkyNet(kernel=5), (3, 16, 32))
