"""The omnichannel world simulator: a stateful retail network whose causes we control and know.

`generate` writes contract v1 events, reference CSVs and the hidden truth of a world;
`world_report` reads a written world back and computes the figures it is calibrated to.
"""

from pipelines.simulator.engine import GenerationReport, generate
from pipelines.simulator.report import WorldReport, world_report

__all__ = ["GenerationReport", "WorldReport", "generate", "world_report"]
