"""medanon: inference."""
