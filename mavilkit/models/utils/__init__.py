from .builders import accepts, build_decoder, build_fusion_neck, part_cfg
from .fsdp import mavil_fsdp_auto_wrap_policy
from .masking import (MaskInfo, finetune_ids_keep, gather_tokens, grid_masking, num_visible_tokens,
                      random_masking)
from .patch_embed import PatchEmbed, patchify, to_tuple, unpatchify
from .pos_embed import (get_1d_sincos_pos_embed, get_2d_sincos_pos_embed, get_3d_sincos_pos_embed,
                        get_sincos_pos_embed)
from .tokens import drop_cls, mean_pool
from .transformer import (Attention, DropPath, Mlp, TransformerBlock, build_blocks,
                          fused_attention_enabled, init_mae_weights, run_block, run_blocks,
                          set_fused_attention)
from .vit import ARCH_ZOO, BaseViT, parse_arch

__all__ = [
    'MaskInfo', 'gather_tokens', 'num_visible_tokens', 'random_masking', 'grid_masking',
    'finetune_ids_keep', 'drop_cls', 'mean_pool', 'accepts', 'build_decoder', 'build_fusion_neck',
    'part_cfg', 'PatchEmbed',
    'patchify', 'to_tuple', 'unpatchify', 'get_1d_sincos_pos_embed', 'get_2d_sincos_pos_embed',
    'get_3d_sincos_pos_embed', 'get_sincos_pos_embed', 'Attention', 'DropPath', 'Mlp',
    'TransformerBlock', 'build_blocks', 'fused_attention_enabled', 'init_mae_weights',
    'run_block', 'run_blocks', 'set_fused_attention', 'ARCH_ZOO', 'BaseViT', 'parse_arch',
    'mavil_fsdp_auto_wrap_policy'
]
