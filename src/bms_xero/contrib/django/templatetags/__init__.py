"""Template tags: ``{% load bms_xero %}`` then ``{% xero_panel invoice %}``."""
