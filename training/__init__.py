"""medanon: training."""
