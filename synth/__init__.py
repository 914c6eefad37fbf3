"""medanon: synth."""
