from modeltranslation.translator import TranslationOptions, register

from tasks.models import Task


@register(Task)
class TaskTranslationOptions(TranslationOptions):
    fields = ("title", "description")
