from common.urls import optional_slash
from projects import apis

urlpatterns = [
    *optional_slash("projects", apis.ProjectListApi.as_view(), name="project-list"),
    *optional_slash("projects/<int:project_id>", apis.ProjectDetailApi.as_view(), name="project-detail"),
    *optional_slash("projects/<int:project_id>/members", apis.MemberListApi.as_view(), name="project-members"),
    *optional_slash(
        "projects/<int:project_id>/members/<int:user_id>", apis.MemberDetailApi.as_view(), name="project-member"
    ),
    *optional_slash("projects/<int:project_id>/invites", apis.ProjectInviteListApi.as_view(), name="project-invites"),
    *optional_slash(
        "projects/<int:project_id>/invites/<int:invite_id>",
        apis.ProjectInviteDetailApi.as_view(),
        name="project-invite",
    ),
    *optional_slash("invites", apis.MyInviteListApi.as_view(), name="invite-list"),
    # The token route comes first: "accept" is not an id, but keep the order obvious.
    *optional_slash("invites/accept", apis.InviteAcceptByTokenApi.as_view(), name="invite-accept-token"),
    *optional_slash("invites/<int:invite_id>/accept", apis.InviteAcceptApi.as_view(), name="invite-accept"),
    *optional_slash("invites/<int:invite_id>/decline", apis.InviteDeclineApi.as_view(), name="invite-decline"),
]
