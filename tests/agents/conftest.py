import pytest
from django.core.management import call_command


@pytest.fixture(scope="session")
def nlu_model(django_db_blocker):
    """The corpus's model, trained once if this checkout has not built it yet."""
    from agents import nlu

    with django_db_blocker.unblock():
        call_command("train_nlu", if_missing=True, no_register=True, verbosity=0)
    nlu.forget_loaded_model()
    return nlu
