"""The ``photonzo`` command line."""

from __future__ import annotations

import argparse
import json
import sys

from .photonics.hardware import PRESETS, HardwareModel
from .photonics.mesh import MESH_KINDS
from .photonics.network import MODELS, build_network, dense_equivalent_mzis


def _info(args) -> int:
    if args.list:
        for name, spec in MODELS.items():
            print(f"{name:14s} {spec['doc']}")
        return 0
    if args.model is None:
        print("photonzo info: name a model (or --list to see them)", file=sys.stderr)
        return 2
    network = build_network(args.model, block=args.block, mesh=args.mesh, readout=args.readout)
    hardware = HardwareModel.preset(args.hardware)
    summary = {**network.summary(), "hardware": hardware.describe(),
               "dense_svd_mzis": dense_equivalent_mzis(network)}
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"model {summary['name']}: {summary['in']} → {summary['out']}, {summary['readout']} readout, "
          f"{args.mesh} meshes of {args.block} modes")
    header = f"{'layer':8s} {'type':16s} {'shape':28s} {'weights':>9s} {'MZIs':>9s} {'phases':>9s} {'electr.':>8s}  activation"
    print(header)
    print("-" * len(header))
    for layer in summary["layers"]:
        if "in_shape" in layer:
            shape = f"{layer['in_shape']}→{layer['out_shape']} r={max(layer['ranks'])}"
        else:
            shape = f"{layer['in']}→{layer['out']} ({layer['blocks']} blocks)"
        print(f"{layer['name']:8s} {layer['type']:16s} {shape.replace(' ', ''):28s} {layer['weights']:9d} "
              f"{layer['mzis']:9d} {layer['phases']:9d} {layer['electronic_params']:8d}  {layer.get('activation', '-')}")
    print("-" * len(header))
    print(f"{'total':8s} {'':16s} {'':28s} {summary['weights']:9d} {summary['mzis']:9d} {summary['phases']:9d} "
          f"{summary['params'] - summary['phases']:8d}")
    print(f"one full-size SVD mesh per layer would take {summary['dense_svd_mzis']:,} MZIs "
          f"({summary['dense_svd_mzis'] / summary['mzis']:.1f}× this chip)")
    active = {k: v for k, v in hardware.describe().items() if k != "name" and v not in (None, 0, 0.0)}
    print(f"hardware preset {hardware.name}: " + (", ".join(f"{k}={v}" for k, v in active.items()) or "no non-idealities"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="photonzo", description="Photonic-chip simulator and BP-free trainers.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    info = sub.add_parser("info", help="summarise a named model on the simulated chip",
                          description="Print a chip's layers, shapes, MZI count, phase count and hardware preset.")
    info.add_argument("model", nargs="?", choices=list(MODELS), metavar="MODEL",
                      help=f"named model config: {', '.join(MODELS)}")
    info.add_argument("--list", action="store_true", help="list the named models and exit")
    info.add_argument("--block", type=int, default=8, help="mesh size k of the U Σ V† blocks (default 8)")
    info.add_argument("--mesh", choices=MESH_KINDS, default="clements", help="mesh topology (default clements)")
    info.add_argument("--readout", choices=["coherent", "intensity"], default="coherent", help="detection (default coherent)")
    info.add_argument("--hardware", choices=list(PRESETS), default="typical", help="hardware preset (default typical)")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(func=_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as e:
        print(f"photonzo {args.command}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
