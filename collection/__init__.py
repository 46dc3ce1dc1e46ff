"""Members and what they owe, and who pays for them: ``collection.members`` (layer 4) and
``collection.sponsors`` (layer 6, a capability). Only subpackages live here, one per layer."""
