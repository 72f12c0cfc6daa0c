"""AnimeCeleb Studio: the AnimeCeleb dataset tools, the Animo / PIRenderer / FOMM models and the app around them."""

__version__ = "0.1.0"
