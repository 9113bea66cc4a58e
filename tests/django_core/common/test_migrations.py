"""The migrations describe the models as they are: a model change without its migration (a new
event type in a field's choices, say) fails here rather than in a later `makemigrations`."""

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_model_change_is_missing_a_migration():
    # exits with status 1 (SystemExit) when some migration would be written
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
