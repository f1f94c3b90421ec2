"""Machine-vision front end and evaluators (landmarks, parsing, identity, attributes, classification)."""
