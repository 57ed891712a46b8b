"""Copies a model folder without its weights, for a GPU machine that cannot receive hundreds of MB.

    /usr/bin/python3 bench/gpu/strip_weights.py SRC DST

Every ONNX graph in SRC/onnx keeps its float32 weights as external data (a graph that holds them inline
is rewritten so, into `model.onnx_data`); the data files are not copied. `DST/weights.json` names each
one and its size, and `bench/gpu/weights.ts` (run there) writes seeded random values of that size. The
benchmark models' weights are random anyway; the speed of a pass does not depend on them. Refuses a
graph whose external data holds anything but float32 (integer constants must keep their values).
"""

import json
import os
import shutil
import sys

import onnx
from onnx.external_data_helper import convert_model_to_external_data

FLOAT = onnx.TensorProto.FLOAT
DATA_FILE = "model.onnx_data"


def external_tensors(model):
    for tensor in model.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            yield tensor, {entry.key: entry.value for entry in tensor.external_data}


def strip(src, dst):
    os.makedirs(os.path.join(dst, "onnx"), exist_ok=True)
    for name in os.listdir(src):
        if os.path.isfile(os.path.join(src, name)):
            shutil.copy(os.path.join(src, name), os.path.join(dst, name))
    files = {}
    for name in sorted(os.listdir(os.path.join(src, "onnx"))):
        if not name.endswith(".onnx"):
            continue
        source = os.path.join(src, "onnx", name)
        model = onnx.load(source, load_external_data=False)
        if not any(True for _ in external_tensors(model)):
            # Weights inline: load them and write them out as external data, then drop that file.
            model = onnx.load(source)
            convert_model_to_external_data(model, all_tensors_to_one_file=True, location=DATA_FILE, size_threshold=1024)
            onnx.save_model(model, os.path.join(dst, "onnx", name))
            model = onnx.load(os.path.join(dst, "onnx", name), load_external_data=False)
            data = os.path.join(dst, "onnx", DATA_FILE)
            files[DATA_FILE] = os.path.getsize(data)
            os.remove(data)
        else:
            shutil.copy(source, os.path.join(dst, "onnx", name))
        for tensor, info in external_tensors(model):
            if tensor.data_type != FLOAT:
                sys.exit(f"{name}: external tensor {tensor.name} is {onnx.TensorProto.DataType.Name(tensor.data_type)}, not float32")
            location = info["location"]
            end = int(info.get("offset", 0)) + int(info["length"])
            size = os.path.getsize(os.path.join(src, "onnx", location)) if os.path.exists(os.path.join(src, "onnx", location)) else end
            files[location] = max(files.get(location, 0), size, end)
    with open(os.path.join(dst, "weights.json"), "w") as out:
        json.dump({"note": "external data files left out; bench/gpu/weights.ts writes seeded random float32 values", "files": files}, out, indent=2)
    print(f"{dst}: {', '.join(f'{k} ({v} bytes)' for k, v in files.items())} left out")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    strip(sys.argv[1], sys.argv[2])
