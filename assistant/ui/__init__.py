"""The Gradio staff UI: a thin shell over the library."""
