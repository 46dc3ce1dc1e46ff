"""Members and what they owe, and who pays for them: ``collection.members`` (layer 4), and two capabilities of
layer 6, ``collection.sponsors`` and ``collection.national``. Only subpackages live here."""
