"""Noise that the caller controls, so that a Piper voice can speak the same way twice.

A Piper (VITS) model draws Gaussian noise inside its graph with ``RandomNormalLike`` nodes: one
feeds the stochastic duration predictor (rhythm), one the flow (voice texture). onnxruntime seeds
those nodes once per session, so two runs of one session never match, even with a ``seed``
attribute set (measured: the second run continues the first run's random stream).

Setting ``noise_scale`` and ``noise_w_scale`` to 0 would make the output repeatable, but it
replaces the sampled rhythm and texture by their means: flatter, more robotic speech. Instead,
each ``RandomNormalLike`` node is replaced, in memory, by a read from a table of standard normal
values that is fed with every run. The voice keeps its trained noise scales, and so its natural
prosody; the caller decides whether the table is a fixed one (repeatable) or fresh each run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import onnx
import onnxruntime
from onnx import TensorProto, helper

NOISE_INPUT = "avatarlab_noise_table"
NOISE_TABLE_LENGTH = 1 << 20
"""4 MiB of float32: a 60-second sentence's flow noise fits before the table repeats."""
FIXED_NOISE_SEED = 20240611
"""Seed of the fixed table used for repeatable speech; changing it changes every voice a bit."""
_NODE_OFFSET_STEP = 65_537
"""Each replaced node starts reading at its own place, so their noises are not correlated."""


def fixed_noise_table() -> np.ndarray:
    """The table behind repeatable speech: the same values on every machine and every run."""
    table = np.random.default_rng(FIXED_NOISE_SEED).standard_normal(
        NOISE_TABLE_LENGTH, dtype=np.float32
    )
    table.setflags(write=False)
    return table


def fresh_noise_table() -> np.ndarray:
    """New random values, for speech that varies from run to run like Piper's own."""
    return np.random.default_rng().standard_normal(NOISE_TABLE_LENGTH, dtype=np.float32)


def feed_noise_from_input(model: onnx.ModelProto) -> int:
    """Replace every RandomNormalLike node of ``model`` (in place) by a read of ``NOISE_INPUT``.

    Returns how many nodes were replaced (0: the model draws no noise and needs no table).
    """
    nodes: list[onnx.NodeProto] = []
    replaced = 0
    for node in model.graph.node:
        if node.op_type == "RandomNormalLike":
            nodes.extend(_noise_read_nodes(node, offset=replaced * _NODE_OFFSET_STEP))
            replaced += 1
        else:
            nodes.append(node)
    if replaced:
        del model.graph.node[:]
        model.graph.node.extend(nodes)
        model.graph.input.append(
            helper.make_tensor_value_info(NOISE_INPUT, TensorProto.FLOAT, ["noise_length"])
        )
    return replaced


def _noise_read_nodes(node: onnx.NodeProto, offset: int) -> list[onnx.NodeProto]:
    """Nodes that fill ``node``'s output with table[offset : offset + size], tiled if short."""
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    name = f"{node.name or node.output[0]}/avatarlab_noise"

    def out(suffix: str) -> str:
        return f"{name}/{suffix}"

    def const(suffix: str, value: int) -> onnx.NodeProto:
        tensor = helper.make_tensor(out(suffix), TensorProto.INT64, [1], [value])
        return helper.make_node("Constant", [], [out(suffix)], value=tensor)

    rescaled = attributes.get("mean", 0.0) != 0.0 or attributes.get("scale", 1.0) != 1.0
    standard_normal = out("standard") if rescaled else node.output[0]
    nodes = [
        const("offset", offset),
        const("one", 1),
        helper.make_node("Shape", [node.input[0]], [out("shape")]),
        helper.make_node("ReduceProd", [out("shape")], [out("size")], keepdims=1),
        helper.make_node("Shape", [NOISE_INPUT], [out("table_length")]),
        helper.make_node("Add", [out("size"), out("offset")], [out("stop")]),
        # Integer ceil(stop / table_length) = (stop + table_length - 1) / table_length.
        helper.make_node("Sub", [out("table_length"), out("one")], [out("round_up")]),
        helper.make_node("Add", [out("stop"), out("round_up")], [out("stop_up")]),
        helper.make_node("Div", [out("stop_up"), out("table_length")], [out("repeats")]),
        helper.make_node("Tile", [NOISE_INPUT, out("repeats")], [out("tiled")]),
        helper.make_node("Slice", [out("tiled"), out("offset"), out("stop")], [out("flat")]),
        helper.make_node("Reshape", [out("flat"), out("shape")], [standard_normal]),
    ]
    if rescaled:
        nodes.extend(_rescale_nodes(standard_normal, node.output[0], attributes, out))
    return nodes


def _rescale_nodes(
    standard: str, output: str, attributes: Mapping[str, Any], out: Callable[[str], str]
) -> list[onnx.NodeProto]:
    """noise * scale + mean, for a RandomNormalLike node that asked for those."""
    scale = helper.make_tensor(out("scale"), TensorProto.FLOAT, [], [attributes.get("scale", 1.0)])
    mean = helper.make_tensor(out("mean"), TensorProto.FLOAT, [], [attributes.get("mean", 0.0)])
    return [
        helper.make_node("Constant", [], [out("scale")], value=scale),
        helper.make_node("Constant", [], [out("mean")], value=mean),
        helper.make_node("Mul", [standard, out("scale")], [out("scaled")]),
        helper.make_node("Add", [out("scaled"), out("mean")], [output]),
    ]


@dataclass(frozen=True)
class NoiseFedSession:
    """An onnxruntime session that adds the noise table to every run's inputs.

    Piper's ``PiperVoice`` only calls ``session.run``, so this stands in for the session there.
    ``fixed_noise`` None means a fresh table each run.
    """

    session: onnxruntime.InferenceSession
    fixed_noise: np.ndarray | None

    def run(
        self,
        output_names: Sequence[str] | None,
        input_feed: Mapping[str, Any],
        run_options: onnxruntime.RunOptions | None = None,
    ) -> list[Any]:
        noise = self.fixed_noise if self.fixed_noise is not None else fresh_noise_table()
        feed = {**input_feed, NOISE_INPUT: noise}
        return self.session.run(output_names, feed, run_options)
