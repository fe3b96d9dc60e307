"""The unified Device Operations: models, catalogue, totals."""

from fiscald.operations.registry import OPERATIONS, Operation, OperationSpec, parse_operation

__all__ = ["OPERATIONS", "Operation", "OperationSpec", "parse_operation"]
