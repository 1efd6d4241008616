"""One planner threshold of convlab.ops.conv at two values, on real layers outside the bench: which is faster?

    python bench/ab.py BLOCKED_MIN_EXPANSION 10**9 --threads 1 --rounds 8 [--filter TEXT] [--suite] [--batch N]
    python bench/ab.py WINOGRAD False --suite --changed      # only the rows whose path the value changes
    python bench/ab.py ROWS_WIDE_MIN_DEPTH 16 --also DEPTHWISE_MAX_MULTIPLIER=64     # around another setting

Each layer (``PROBE`` below; with ``--suite`` the rows of bench/run.py instead) runs in one process, in turns:
a burst (~0.15 s) with the threshold as it is, a burst with VALUE (a Python expression), a burst of torch's
layer, ``--rounds`` times. Setting a threshold bumps the planner's settings version, so each burst runs the plan
that value gives (the layer's plans for both values stay cached). Printed per layer: the path of each value
(the plan's runner), the paired ratio VALUE/current with its quartiles (> 1: the current value is faster),
and each against torch. Every result is checked against torch first. ``--batch N`` gives every layer N samples
(the conv rows of the suite too; its other rows keep theirs).

``PROBE`` holds layers of real networks that bench/run.py did not have when a rule was set, on both sides of
the rules they were gathered for (bench/README.md, "Large kernels and 3x3 stride 2 on the blocked kernel"). Not a
test and not the bench: a tool for choosing a threshold on layers the bench was not tuned on.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # run from a checkout
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import run  # noqa: E402  (bench/run.py: its timing, its suite)

# (name, class, constructor args, keyword args, input shape)
PROBE = [
    ("pix2pix disc 4x4 s2 128->256 (4,128,64,64)", "Conv2d", (128, 256, 4), dict(stride=2, padding=1),
     (4, 128, 64, 64)),
    ("pix2pix disc 4x4 s2 64->128 (4,64,128,128)", "Conv2d", (64, 128, 4), dict(stride=2, padding=1),
     (4, 64, 128, 128)),
    ("resnet18 3x3 s2 64->128 (8,64,56,56)", "Conv2d", (64, 128, 3), dict(stride=2, padding=1), (8, 64, 56, 56)),
    ("resnet50 3x3 s2 128->128 (8,128,56,56)", "Conv2d", (128, 128, 3), dict(stride=2, padding=1),
     (8, 128, 56, 56)),
    ("darknet 3x3 s2 32->64 (4,32,208,208)", "Conv2d", (32, 64, 3), dict(stride=2, padding=1), (4, 32, 208, 208)),
    ("darknet 3x3 s2 64->128 (4,64,104,104)", "Conv2d", (64, 128, 3), dict(stride=2, padding=1),
     (4, 64, 104, 104)),
    ("5x5 s2 64->64 p2 (8,64,64,64)", "Conv2d", (64, 64, 5), dict(stride=2, padding=2), (8, 64, 64, 64)),
    ("5x5 64->64 p2 (8,64,32,32)", "Conv2d", (64, 64, 5), dict(padding=2), (8, 64, 32, 32)),
    ("7x7 32->32 p3 (4,32,64,64)", "Conv2d", (32, 32, 7), dict(padding=3), (4, 32, 64, 64)),
    ("inception 1x7 160->160 (8,160,35,35)", "Conv2d", (160, 160, (1, 7)), dict(padding=(0, 3)), (8, 160, 35, 35)),
    ("inception 3x3 s2 288->384 (8,288,35,35)", "Conv2d", (288, 384, 3), dict(stride=2), (8, 288, 35, 35)),
    ("vgg16 3x3 512->512 (4,512,28,28)", "Conv2d", (512, 512, 3), dict(padding=1), (4, 512, 28, 28)),
    ("deeplab backbone 3x3 d2 256->256 (2,256,65,65)", "Conv2d", (256, 256, 3), dict(padding=2, dilation=2),
     (2, 256, 65, 65)),
    ("3x3 d2 64->64 (4,64,64,64)", "Conv2d", (64, 64, 3), dict(padding=2, dilation=2), (4, 64, 64, 64)),
    ("2x2 64->64 (8,64,64,64)", "Conv2d", (64, 64, 2), {}, (8, 64, 64, 64)),
    ("Conv1d 128->128 k4 s2 p1 (8,128,4096)", "Conv1d", (128, 128, 4), dict(stride=2, padding=1), (8, 128, 4096)),
    ("Conv1d 256->256 k5 p2 (4,256,2048)", "Conv1d", (256, 256, 5), dict(padding=2), (4, 256, 2048)),
    ("Conv1d 128->128 k4 p2 (8,128,2048)", "Conv1d", (128, 128, 4), dict(padding=2), (8, 128, 2048)),
    ("hifigan Conv1d 256->256 k7 p3 (4,256,4096)", "Conv1d", (256, 256, 7), dict(padding=3), (4, 256, 4096)),
    ("Conv1d 64->128 k3 s2 p1 (8,64,8000)", "Conv1d", (64, 128, 3), dict(stride=2, padding=1), (8, 64, 8000)),
    # added after the rows above had set BLOCKED_MIN_EXPANSION, to check its move from 4 to 2 (bench/README.md)
    ("yolov5 3x3 s2 128->256 (2,128,80,80)", "Conv2d", (128, 256, 3), dict(stride=2, padding=1), (2, 128, 80, 80)),
    ("conformer subsampling 3x3 s2 256->256 (4,256,99,39)", "Conv2d", (256, 256, 3), dict(stride=2),
     (4, 256, 99, 39)),
    ("3x3 s2 64->64 (4,64,112,112)", "Conv2d", (64, 64, 3), dict(stride=2, padding=1), (4, 64, 112, 112)),
    ("Conv1d 256->256 k3 s2 p1 (8,256,1000)", "Conv1d", (256, 256, 3), dict(stride=2, padding=1), (8, 256, 1000)),
    ("Conv1d 128->128 k2 s1 (8,128,2000)", "Conv1d", (128, 128, 2), {}, (8, 128, 2000)),
    ("Conv1d 256->256 k3 p1 (8,256,2048)", "Conv1d", (256, 256, 3), dict(padding=1), (8, 256, 2048)),
    ("Conv1d 128->128 k3 p1 (8,128,4000)", "Conv1d", (128, 128, 3), dict(padding=1), (8, 128, 4000)),
    # one sample (inference) on Winograd's layers, for WINOGRAD_MIN_THREAD_CELLS (bench/README.md, "One sample
    # per call")
    ("resnet18 3x3 256->256 (1,256,14,14)", "Conv2d", (256, 256, 3), dict(padding=1), (1, 256, 14, 14)),
    ("resnet50 3x3 128->128 (1,128,28,28)", "Conv2d", (128, 128, 3), dict(padding=1), (1, 128, 28, 28)),
    ("resnet50 3x3 128->128 (2,128,28,28)", "Conv2d", (128, 128, 3), dict(padding=1), (2, 128, 28, 28)),
    ("yolo 3x3 256->256 (1,256,20,20)", "Conv2d", (256, 256, 3), dict(padding=1), (1, 256, 20, 20)),
    ("unet 3x3 512->512 (1,512,32,32)", "Conv2d", (512, 512, 3), dict(padding=1), (1, 512, 32, 32)),
    ("3x3 64->64 (1,64,28,28)", "Conv2d", (64, 64, 3), dict(padding=1), (1, 64, 28, 28)),
    ("3x3 64->64 (2,64,20,20)", "Conv2d", (64, 64, 3), dict(padding=1), (2, 64, 20, 20)),
    ("fpn 3x3 256->256 (1,256,50,50)", "Conv2d", (256, 256, 3), dict(padding=1), (1, 256, 50, 50)),
    ("unet3d 3x3x3 64->64 (1,64,8,16,16)", "Conv3d", (64, 64, 3), dict(padding=1), (1, 64, 8, 16, 16)),
    # transposed layers (bench/README.md, "One sample per call"): TRANSPOSE_CHANNEL_CHUNKS with --batch 1, and the
    # output-phase split measured there
    ("dcgan ConvT2d(512,256,4,s2,p1) (16,512,4,4)", "ConvTranspose2d", (512, 256, 4), dict(stride=2, padding=1),
     (16, 512, 4, 4)),
    ("dcgan ConvT2d(128,64,4,s2,p1) (16,128,16,16)", "ConvTranspose2d", (128, 64, 4), dict(stride=2, padding=1),
     (16, 128, 16, 16)),
    ("pix2pix ConvT2d(1024,512,4,s2,p1) (1,1024,8,8)", "ConvTranspose2d", (1024, 512, 4),
     dict(stride=2, padding=1), (1, 1024, 8, 8)),
    ("pix2pix ConvT2d(512,128,4,s2,p1) (1,512,32,32)", "ConvTranspose2d", (512, 128, 4),
     dict(stride=2, padding=1), (1, 512, 32, 32)),
    ("pix2pix ConvT2d(256,64,4,s2,p1) (1,256,64,64)", "ConvTranspose2d", (256, 64, 4), dict(stride=2, padding=1),
     (1, 256, 64, 64)),
    ("ConvT2d(64,32,4,s2,p1) (8,64,64,64)", "ConvTranspose2d", (64, 32, 4), dict(stride=2, padding=1),
     (8, 64, 64, 64)),
    ("ConvT2d(64,64,3,s2,p1,op1) (8,64,32,32)", "ConvTranspose2d", (64, 64, 3),
     dict(stride=2, padding=1, output_padding=1), (8, 64, 32, 32)),
    ("melgan ConvT1d(512,256,16,s8,p4) (4,512,32)", "ConvTranspose1d", (512, 256, 16), dict(stride=8, padding=4),
     (4, 512, 32)),
    ("melgan ConvT1d(256,128,16,s8,p4) (4,256,256)", "ConvTranspose1d", (256, 128, 16), dict(stride=8, padding=4),
     (4, 256, 256)),
    ("hifigan ConvT1d(128,64,4,s2,p1) (4,128,2048)", "ConvTranspose1d", (128, 64, 4), dict(stride=2, padding=1),
     (4, 128, 2048)),
    ("hifigan ConvT1d(64,32,4,s2,p1) (4,64,4096)", "ConvTranspose1d", (64, 32, 4), dict(stride=2, padding=1),
     (4, 64, 4096)),
    # shallow strided layers (first layers: few input channels, 16-64 outputs), for conv_rows' wide rule
    ("mobilenetv2 stem 3x3 s2 3->32 (8,3,224,224)", "Conv2d", (3, 32, 3), dict(stride=2, padding=1),
     (8, 3, 224, 224)),
    ("yolov5 stem 6x6 s2 3->32 (2,3,640,640)", "Conv2d", (3, 32, 6), dict(stride=2, padding=2), (2, 3, 640, 640)),
    ("dcgan disc 4x4 s2 3->64 (16,3,64,64)", "Conv2d", (3, 64, 4), dict(stride=2, padding=1), (16, 3, 64, 64)),
    ("pix2pix disc 4x4 s2 3->64 (1,3,256,256)", "Conv2d", (3, 64, 4), dict(stride=2, padding=1), (1, 3, 256, 256)),
    ("shufflenet stem 3x3 s2 3->24 (8,3,224,224)", "Conv2d", (3, 24, 3), dict(stride=2, padding=1),
     (8, 3, 224, 224)),
    ("conformer subsampling 3x3 s2 1->64 (8,1,400,80)", "Conv2d", (1, 64, 3), dict(stride=2), (8, 1, 400, 80)),
    ("resnet-d stem 3x3 s2 3->32 (8,3,224,224)", "Conv2d", (3, 32, 3), dict(stride=2, padding=1), (8, 3, 224, 224)),
    ("grouped 3x3 s2 g4 64->128 (8,64,56,56)", "Conv2d", (64, 128, 3), dict(stride=2, padding=1, groups=4),
     (8, 64, 56, 56)),
    ("3x3 1->64 (8,1,200,40)", "Conv2d", (1, 64, 3), dict(padding=1), (8, 1, 200, 40)),
    ("3x3 1->32 (8,1,128,128)", "Conv2d", (1, 32, 3), dict(padding=1), (8, 1, 128, 128)),
    ("3x3 2->64 (8,2,128,128)", "Conv2d", (2, 64, 3), dict(padding=1), (8, 2, 128, 128)),
    ("3x3 s2 2->32 (8,2,256,256)", "Conv2d", (2, 32, 3), dict(stride=2, padding=1), (8, 2, 256, 256)),
    ("5x5 s2 1->32 (8,1,128,128)", "Conv2d", (1, 32, 5), dict(stride=2, padding=2), (8, 1, 128, 128)),
    ("3x3 s2 16->32 (8,16,112,112)", "Conv2d", (16, 32, 3), dict(stride=2, padding=1), (8, 16, 112, 112)),
    ("3x3 s2 16->64 (8,16,56,56)", "Conv2d", (16, 64, 3), dict(stride=2, padding=1), (8, 16, 56, 56)),
    ("1x7 s(1,2) 16->32 (8,16,64,64)", "Conv2d", (16, 32, (1, 7)), dict(stride=(1, 2), padding=(0, 3)),
     (8, 16, 64, 64)),
    # raw-audio front-ends with long rows (conv_rows' output sums past WORKSPACE_BYTES: ROWS_MAX_WORKSPACE_BYTES,
    # until conv_rows stored its sums straight into the output on 2026-12-05)
    ("m11 Conv1d(1,64,80,s4) (2,1,32000)", "Conv1d", (1, 64, 80), dict(stride=4), (2, 1, 32000)),
    ("m5 Conv1d(1,128,80,s4) (8,1,16000)", "Conv1d", (1, 128, 80), dict(stride=4), (8, 1, 16000)),
    ("Conv1d(1,32,80,s4) (4,1,64000)", "Conv1d", (1, 32, 80), dict(stride=4), (4, 1, 64000)),
    ("soundnet Conv1d(1,16,64,s2,p32) (4,1,22050)", "Conv1d", (1, 16, 64), dict(stride=2, padding=32),
     (4, 1, 22050)),
    ("Conv1d(2,64,40,s2) (4,2,16000)", "Conv1d", (2, 64, 40), dict(stride=2), (4, 2, 16000)),
    ("Conv1d(1,48,25,s5) (8,1,48000)", "Conv1d", (1, 48, 25), dict(stride=5), (8, 1, 48000)),
    ("Conv1d(4,32,16,s1,p8) (4,4,16000)", "Conv1d", (4, 32, 16), dict(padding=8), (4, 4, 16000)),
    # shallow layers of 65-128 output channels, for ROWS_MAX_CHANNELS_WIDE (after conv_rows stored its sums
    # straight into the output, 2026-12-05)
    ("samplecnn Conv1d(1,128,3,s3) (8,1,59049)", "Conv1d", (1, 128, 3), dict(stride=3), (8, 1, 59049)),
    ("Conv2d(3,128,3,p1) (4,3,128,128)", "Conv2d", (3, 128, 3), dict(padding=1), (4, 3, 128, 128)),
    ("Conv2d(3,96,7,s2,p3) (8,3,224,224)", "Conv2d", (3, 96, 7), dict(stride=2, padding=3), (8, 3, 224, 224)),
    ("Conv2d(16,128,3,s2,p1) (8,16,56,56)", "Conv2d", (16, 128, 3), dict(stride=2, padding=1), (8, 16, 56, 56)),
    # 1x1 layers on small planes (bottlenecks, pointwise convs, downsampling shortcuts), for conv_gemm's samples
    # side by side in one GEMM and its 1x1 gather (2026-12-06)
    ("resnet50 1x1 512->2048 (8,512,7,7)", "Conv2d", (512, 2048, 1), {}, (8, 512, 7, 7)),
    ("resnet50 1x1 2048->512 (8,2048,7,7)", "Conv2d", (2048, 512, 1), {}, (8, 2048, 7, 7)),
    ("resnet50 1x1 1024->256 (8,1024,14,14)", "Conv2d", (1024, 256, 1), {}, (8, 1024, 14, 14)),
    ("resnet50 1x1 256->1024 (8,256,14,14)", "Conv2d", (256, 1024, 1), {}, (8, 256, 14, 14)),
    ("resnet50 1x1 s2 512->1024 (8,512,28,28)", "Conv2d", (512, 1024, 1), dict(stride=2), (8, 512, 28, 28)),
    ("resnet50 1x1 s2 1024->2048 (8,1024,14,14)", "Conv2d", (1024, 2048, 1), dict(stride=2), (8, 1024, 14, 14)),
    ("resnet50 1x1 2048->512 (1,2048,7,7)", "Conv2d", (2048, 512, 1), {}, (1, 2048, 7, 7)),
    ("mobilenetv2 1x1 960->160 (8,960,7,7)", "Conv2d", (960, 160, 1), {}, (8, 960, 7, 7)),
    ("mobilenetv2 1x1 160->960 (8,160,7,7)", "Conv2d", (160, 960, 1), {}, (8, 160, 7, 7)),
    ("mobilenetv2 1x1 576->96 (8,576,14,14)", "Conv2d", (576, 96, 1), {}, (8, 576, 14, 14)),
    ("efficientnet 1x1 1152->192 (4,1152,7,7)", "Conv2d", (1152, 192, 1), {}, (4, 1152, 7, 7)),
    ("densenet 1x1 512->128 (8,512,7,7)", "Conv2d", (512, 128, 1), {}, (8, 512, 7, 7)),
    ("resnet 1x1 s2 64->128 (8,64,56,56)", "Conv2d", (64, 128, 1), dict(stride=2), (8, 64, 56, 56)),
    ("Conv1d 1x1 512->512 (8,512,100)", "Conv1d", (512, 512, 1), {}, (8, 512, 100)),
    ("mobilenetv2 1x1 96->24 (8,96,56,56)", "Conv2d", (96, 24, 1), {}, (8, 96, 56, 56)),
    ("mobilenetv2 1x1 32->16 (8,32,112,112)", "Conv2d", (32, 16, 1), {}, (8, 32, 112, 112)),
    ("shufflenet 1x1 58->58 (8,58,28,28)", "Conv2d", (58, 58, 1), {}, (8, 58, 28, 28)),
    ("mobilenetv2 1x1 384->64 (8,384,7,7)", "Conv2d", (384, 64, 1), {}, (8, 384, 7, 7)),
    # wide 3x3 layers whose Winograd tasks hold fewer than WINOGRAD_MIN_TASK_TILES tiles in its byte budget
    # (512 channels; C3D's 3x3x3, whose GEMMs' K is 3 x C_in), for the rule on them (2026-12-06)
    ("unet 3x3 512->512 (2,512,32,32)", "Conv2d", (512, 512, 3), dict(padding=1), (2, 512, 32, 32)),
    ("vgg16 3x3 512->512 (8,512,14,14)", "Conv2d", (512, 512, 3), dict(padding=1), (8, 512, 14, 14)),
    ("inception 3x3 384->384 (8,384,17,17)", "Conv2d", (384, 384, 3), dict(padding=1), (8, 384, 17, 17)),
    ("c3d 3x3x3 256->256 (1,256,8,28,28)", "Conv3d", (256, 256, 3), dict(padding=1), (1, 256, 8, 28, 28)),
    ("c3d 3x3x3 512->512 (1,512,4,14,14)", "Conv3d", (512, 512, 3), dict(padding=1), (1, 512, 4, 14, 14)),
    ("r3d18 3x3x3 s2 64->128 (2,64,8,56,56)", "Conv3d", (64, 128, 3), dict(stride=2, padding=1), (2, 64, 8, 56, 56)),
    # 3-d strided layers for conv_blocked's 3-d rule (2026-12-06): R3D-18's next stage, a 3-d U-Net's encoder step
    ("r3d18 3x3x3 s2 128->256 (2,128,4,28,28)", "Conv3d", (128, 256, 3), dict(stride=2, padding=1),
     (2, 128, 4, 28, 28)),
    ("unet3d 3x3x3 s2 32->64 (1,32,32,64,64)", "Conv3d", (32, 64, 3), dict(stride=2, padding=1), (1, 32, 32, 64, 64)),
    # 3-d layers with few output channels per group, for conv_rows' 3-d rule (2026-12-07): ResNeXt-3D's grouped
    # 3x3x3 (32 groups of 4, 8 and 16 channels), a grouped layer of 8 channels a group, a 3-d U-Net's first and last
    # layers, a segmentation head of two classes, and narrow 3x3x3 layers
    ("resnext3d g32 3x3x3 128->128 (1,128,8,56,56)", "Conv3d", (128, 128, 3), dict(padding=1, groups=32),
     (1, 128, 8, 56, 56)),
    ("resnext3d g32 3x3x3 s2 256->256 (1,256,8,56,56)", "Conv3d", (256, 256, 3),
     dict(stride=2, padding=1, groups=32), (1, 256, 8, 56, 56)),
    ("resnext3d g32 3x3x3 512->512 (2,512,4,14,14)", "Conv3d", (512, 512, 3), dict(padding=1, groups=32),
     (2, 512, 4, 14, 14)),
    ("g8 3x3x3 64->64 (1,64,8,28,28)", "Conv3d", (64, 64, 3), dict(padding=1, groups=8), (1, 64, 8, 28, 28)),
    ("unet3d 3x3x3 1->32 (1,1,64,64,64)", "Conv3d", (1, 32, 3), dict(padding=1), (1, 1, 64, 64, 64)),
    ("unet3d head 1x1x1 32->3 (1,32,64,64,64)", "Conv3d", (32, 3, 1), {}, (1, 32, 64, 64, 64)),
    ("vnet head 3x3x3 32->2 (1,32,32,64,64)", "Conv3d", (32, 2, 3), dict(padding=1), (1, 32, 32, 64, 64)),
    ("3x3x3 8->16 (1,8,32,64,64)", "Conv3d", (8, 16, 3), dict(padding=1), (1, 8, 32, 64, 64)),
    ("3x3x3 s2 16->16 (1,16,32,64,64)", "Conv3d", (16, 16, 3), dict(stride=2, padding=1), (1, 16, 32, 64, 64)),
    # narrow stride-1 3x3 layers (16-128 channels: CIFAR ResNets, small U-Nets, mid-size backbones), where
    # Winograd's F(2x2) meets conv_blocked and conv_rows, for WINOGRAD's rule by SIMD level (2026-12-07)
    ("cifar resnet 3x3 16->16 (32,16,32,32)", "Conv2d", (16, 16, 3), dict(padding=1), (32, 16, 32, 32)),
    ("cifar resnet 3x3 32->32 (32,32,16,16)", "Conv2d", (32, 32, 3), dict(padding=1), (32, 32, 16, 16)),
    ("3x3 32->32 (4,32,28,28)", "Conv2d", (32, 32, 3), dict(padding=1), (4, 32, 28, 28)),
    ("unet 3x3 32->32 (2,32,128,128)", "Conv2d", (32, 32, 3), dict(padding=1), (2, 32, 128, 128)),
    ("3x3 48->48 (8,48,28,28)", "Conv2d", (48, 48, 3), dict(padding=1), (8, 48, 28, 28)),
    ("3x3 64->64 (8,64,28,28)", "Conv2d", (64, 64, 3), dict(padding=1), (8, 64, 28, 28)),
    ("3x3 96->96 (8,96,14,14)", "Conv2d", (96, 96, 3), dict(padding=1), (8, 96, 14, 14)),
    ("3x3 128->128 (8,128,14,14)", "Conv2d", (128, 128, 3), dict(padding=1), (8, 128, 14, 14)),
    ("3x3 64->128 (8,64,28,28)", "Conv2d", (64, 128, 3), dict(padding=1), (8, 64, 28, 28)),
    ("3x3x3 32->32 (2,32,16,28,28)", "Conv3d", (32, 32, 3), dict(padding=1), (2, 32, 16, 28, 28)),
    # one input channel (grayscale images, spectrograms) and the teaching networks built on them: PyTorch's MNIST
    # example, LeNet-5 (2026-12-07), for conv_rows' depth-9 rule and conv_depthwise's channel multiplier
    ("mnist Conv2d(1,32,3) (64,1,28,28)", "Conv2d", (1, 32, 3), {}, (64, 1, 28, 28)),
    ("mnist Conv2d(32,64,3) (64,32,26,26)", "Conv2d", (32, 64, 3), {}, (64, 32, 26, 26)),
    ("lenet Conv2d(1,6,5) (64,1,28,28)", "Conv2d", (1, 6, 5), {}, (64, 1, 28, 28)),
    ("lenet Conv2d(6,16,5) (64,6,14,14)", "Conv2d", (6, 16, 5), {}, (64, 6, 14, 14)),
    ("3x3 1->16 (8,1,128,128)", "Conv2d", (1, 16, 3), dict(padding=1), (8, 1, 128, 128)),
    ("3x3 1->8 (8,1,128,128)", "Conv2d", (1, 8, 3), dict(padding=1), (8, 1, 128, 128)),
    ("spectrogram 3x3 1->32 (16,1,64,101)", "Conv2d", (1, 32, 3), dict(padding=1), (16, 1, 64, 101)),
    ("3x3 1->64 (4,1,256,256)", "Conv2d", (1, 64, 3), dict(padding=1), (4, 1, 256, 256)),
    ("Conv1d(1,16,3,p1) (8,1,16000)", "Conv1d", (1, 16, 3), dict(padding=1), (8, 1, 16000)),
    ("3x3 g4 4->64 (8,4,64,64)", "Conv2d", (4, 64, 3), dict(padding=1, groups=4), (8, 4, 64, 64)),
    ("dw x2 3x3 32->64 g32 (8,32,56,56)", "Conv2d", (32, 64, 3), dict(padding=1, groups=32), (8, 32, 56, 56)),
    ("dw x4 3x3 16->64 g16 (8,16,56,56)", "Conv2d", (16, 64, 3), dict(padding=1, groups=16), (8, 16, 56, 56)),
    ("dw x2 3x3 s2 64->128 g64 (8,64,56,56)", "Conv2d", (64, 128, 3), dict(stride=2, padding=1, groups=64),
     (8, 64, 56, 56)),
    ("dw x2 Conv1d(64,128,5,p2,g64) (8,64,1000)", "Conv1d", (64, 128, 5), dict(padding=2, groups=64), (8, 64, 1000)),
    ("Conv1d(1,4,80,s4) (8,1,16000)", "Conv1d", (1, 4, 80), dict(stride=4), (8, 1, 16000)),
    ("Conv1d(1,8,80,s4) (8,1,16000)", "Conv1d", (1, 8, 80), dict(stride=4), (8, 1, 16000)),
    ("Conv1d(1,64,3,p1) (8,1,16000)", "Conv1d", (1, 64, 3), dict(padding=1), (8, 1, 16000)),
    ("Conv1d(2,32,3,p1) (8,2,16000)", "Conv1d", (2, 32, 3), dict(padding=1), (8, 2, 16000)),
    # added with conv_blocked's lone-block runs (an odd count of 16-channel output blocks, bench/README.md)
    ("googlenet 3x3 96->208 (8,96,14,14)", "Conv2d", (96, 208, 3), dict(padding=1), (8, 96, 14, 14)),
    ("googlenet 5x5 16->48 (8,16,14,14)", "Conv2d", (16, 48, 5), dict(padding=2), (8, 16, 14, 14)),
]


def _path(module):
    """The runner of the plan the module used last (its plans are kept per settings version)."""
    plan = list(module._plans.values())[-1][0]
    return getattr(plan.run, "__qualname__", type(plan.run).__name__).split(".")[0].lstrip("_")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help="a threshold of convlab.ops.conv, e.g. BLOCKED_MIN_EXPANSION")
    ap.add_argument("value", help="the other value, a Python expression, e.g. 10**9")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=8)
    ap.add_argument("--filter", default="", help="only layers whose name contains this text (alternatives "
                    "separated by '|')")
    ap.add_argument("--changed", action="store_true", help="time only the layers whose path the value changes")
    ap.add_argument("--suite", action="store_true", help="bench/run.py's rows instead of PROBE")
    ap.add_argument("--also", action="append", default=[], metavar="NAME=VALUE",
                    help="another threshold set to VALUE on both sides (repeatable): the A/B of NAME around it")
    ap.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                    help="the PROBE layers in this dtype (the suite's rows keep theirs)")
    ap.add_argument("--batch", type=int, default=0,
                    help="every layer with this many samples instead of its own (1: inference on one sample)")
    args = ap.parse_args(argv)

    import torch
    from threadpoolctl import threadpool_limits

    import convlab
    from convlab import _kernels
    from convlab.ops import conv as conv_ops
    if args.name not in conv_ops._THRESHOLDS:
        sys.exit(f"ab.py: {args.name!r} is not a threshold of convlab.ops.conv")
    current, other = getattr(conv_ops, args.name), eval(args.value, {})
    also = {}
    for item in args.also:
        key, _, expr = item.partition("=")
        if key not in conv_ops._THRESHOLDS or not expr:
            sys.exit(f"ab.py: --also {item!r} is not NAME=VALUE for a threshold of convlab.ops.conv")
        also[key] = eval(expr, {})
    saved = {key: getattr(conv_ops, key) for key in also}
    convlab.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    run.pin_allocator()                   # (as bench/run.py: every layer starts from the same allocator state)

    run.BATCH = args.batch                # conv_case gives every layer this many samples (0: its own)

    def cases():
        if args.suite:
            for make in run.suite():
                yield make()
            return
        for name, cls, a, kw, shape in PROBE:
            yield run.conv_case(name, cls, a, kw, shape, dtype=np.dtype(args.dtype).type)

    print(f"# {args.name}: {current!r} (current) against {other!r}; {args.threads} thread(s), {args.rounds} rounds;"
          f" SIMD level {_kernels.simd_path()}; {args.dtype if not args.suite else 'suite dtypes'}"
          + "".join(f"; {k}={v!r}" for k, v in also.items()))
    print(f"{'layer':48s} {'path now':16s} {'path other':16s} {'other/now (quartiles)':>24s} {'now/torch':>9s}"
          f" {'other/torch':>11s}")
    try:
        for key, value in also.items():
            setattr(conv_ops, key, value)
        with threadpool_limits(limits=args.threads), torch.no_grad():
            for case in cases():
                if not any(text in case["name"] for text in args.filter.split("|")):
                    continue
                paths = []
                for value in (current, other):
                    setattr(conv_ops, args.name, value)
                    try:
                        run.check_against_torch(case)
                    except AssertionError as e:
                        sys.exit(f"ab.py: at {args.name}={value!r}, {e}")
                    paths.append(_path(case["module"]) if "module" in case else "-")
                if args.changed and paths[0] == paths[1]:
                    continue
                ratios = []
                for _ in range(args.rounds):
                    times = []
                    for value in (current, other):
                        setattr(conv_ops, args.name, value)
                        time.sleep(0.05)
                        times.append(run._time(case["ours"], 0.15))
                    time.sleep(0.05)
                    times.append(run._time(case["torch"], 0.15))
                    ratios.append((times[1] / times[0], times[0] / times[2], times[1] / times[2]))
                q = np.percentile(np.array(ratios), [25, 50, 75], axis=0)
                print(f"{case['name'][:48]:48s} {paths[0][:16]:16s} {paths[1][:16]:16s} "
                      f"{q[1, 0]:7.3f} ({q[0, 0]:.3f}-{q[2, 0]:.3f}) {q[1, 1]:9.2f} {q[1, 2]:11.2f}", flush=True)
    finally:
        setattr(conv_ops, args.name, current)
        for key, value in saved.items():
            setattr(conv_ops, key, value)


if __name__ == "__main__":
    main()
