# Audio fine-tuning model for clips shorter than AudioSet's 10 s (ESC-50: 5 s, Speech Commands:
# 1 s): mavil_vit-b_audio-cls.py with the encoder loaded on its own (prefix `audio_backbone.`),
# keeping the first time rows of the checkpoint's 64 × 8 position-embedding grid
# (`crop_pos_embed`). A config sets `model.audio_backbone.input_size` to its fbank length.
_base_ = ['./mavil_vit-b_audio-cls.py']

model = dict(
    audio_backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mavil_vit-b_as2m_stage2.pth',
                      prefix='audio_backbone.', crop_pos_embed=True)),
    init_cfg=None)
