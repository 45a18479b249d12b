from .identity_fusion import IdentityFusion
from .mae_decoder import MAEDecoder
from .mbt_fusion import MBTFusion
from .vanilla_fusion import VanillaFusion

__all__ = ['IdentityFusion', 'MAEDecoder', 'MBTFusion', 'VanillaFusion']
