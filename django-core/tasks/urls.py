from common.urls import optional_slash
from tasks import apis

urlpatterns = [
    *optional_slash("projects/<int:project_id>/board", apis.BoardApi.as_view(), name="project-board"),
    *optional_slash("tasks", apis.TaskListApi.as_view(), name="task-list"),
    *optional_slash("tasks/<int:task_id>", apis.TaskDetailApi.as_view(), name="task-detail"),
    *optional_slash("tasks/<int:task_id>/move", apis.TaskMoveApi.as_view(), name="task-move"),
    *optional_slash("tasks/<int:task_id>/watch", apis.TaskWatchApi.as_view(), name="task-watch"),
    *optional_slash("tasks/<int:task_id>/comments", apis.CommentListApi.as_view(), name="task-comments"),
    *optional_slash(
        "tasks/<int:task_id>/comments/<int:comment_id>", apis.CommentDetailApi.as_view(), name="task-comment"
    ),
    *optional_slash("tasks/<int:task_id>/activity", apis.TaskActivityApi.as_view(), name="task-activity"),
]
