"""Stage 4, compile: the Plan becomes Python source, compiled once into a Program."""

from engine.compile.program import Program, compile_plan

__all__ = ["Program", "compile_plan"]
