"""Commands that tie several layers together (the demo)."""
