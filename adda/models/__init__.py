"""Models by name: ``get_model_fn('lenet')``, and the input preprocessing."""
from adda.models.model import get_model_fn, model_names, preprocessing, register_model_fn
from adda.models import lenet  # noqa: F401  (registers the model)

__all__ = ['get_model_fn', 'model_names', 'preprocessing', 'register_model_fn']
