"""GraphQL documents of the organizations subgraph tests."""

ORG_FIELDS = (
    "id name slug description createdAt viewerRole settings { labIdleTimeoutSeconds labStopTimeoutSeconds "
    "labMaxSessionMinutes labMaxConcurrentPerUser labMaxRunningPerOrganization labMemoryMb labCpus "
    "generationDailyTokenBudget }"
)

CREATE_ORG = f"""mutation($input: CreateOrganizationInput!) {{ createOrganization(input: $input) {{
  __typename ... on OrganizationSuccess {{ organization {{ {ORG_FIELDS} }} }}
  ... on Error {{ code message }} ... on ValidationError {{ fieldErrors {{ field message }} }} }} }}"""
UPDATE_ORG = f"""mutation($input: UpdateOrganizationInput!) {{ updateOrganization(input: $input) {{
  __typename ... on OrganizationSuccess {{ organization {{ {ORG_FIELDS} }} }}
  ... on Error {{ code message }} ... on ValidationError {{ fieldErrors {{ field message }} }} }} }}"""
ORG_BY_ID = f"query($id: ID) {{ organization(id: $id) {{ {ORG_FIELDS} }} }}"
ORG_BY_SLUG = f"query($slug: String) {{ organization(slug: $slug) {{ {ORG_FIELDS} }} }}"
MY_ORGS = "{ myOrganizations { id name slug viewerRole } }"
MEMBERS = """query($org: ID!, $first: Int, $after: String, $filter: MemberFilter) {
  members(organizationId: $org, first: $first, after: $after, filter: $filter) {
    edges { cursor node { id role joinedAt user { id } organization { id name } } }
    pageInfo { hasNextPage endCursor } } }"""
INVITE = """mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
  __typename ... on InviteMemberSuccess { invitation { id email role expiresAt organization { id name } } }
  ... on Error { code message } } }"""
ACCEPT = """mutation($token: String!) { acceptInvitation(input: {token: $token}) {
  __typename ... on MembershipSuccess {
    membership { id role user { id } organization { id name viewerRole } } }
  ... on Error { code message } } }"""
UPDATE_ROLE = """mutation($input: UpdateMemberRoleInput!) { updateMemberRole(input: $input) {
  __typename ... on MembershipSuccess { membership { id role user { id } } }
  ... on Error { code message } } }"""
REMOVE = """mutation($input: RemoveMemberInput!) { removeMember(input: $input) {
  __typename ... on MembershipSuccess { membership { id role user { id } } }
  ... on Error { code message } } }"""
TRACK_FIELDS = "id name description courseIds createdAt updatedAt organization { id }"
CREATE_TRACK = f"""mutation($input: CreateTrackInput!) {{ createTrack(input: $input) {{
  __typename ... on TrackSuccess {{ track {{ {TRACK_FIELDS} }} }} ... on Error {{ code message }} }} }}"""
UPDATE_TRACK = f"""mutation($input: UpdateTrackInput!) {{ updateTrack(input: $input) {{
  __typename ... on TrackSuccess {{ track {{ {TRACK_FIELDS} }} }} ... on Error {{ code message }} }} }}"""
REORDER_TRACK = f"""mutation($input: ReorderTrackInput!) {{ reorderTrack(input: $input) {{
  __typename ... on TrackSuccess {{ track {{ {TRACK_FIELDS} }} }} ... on Error {{ code message }} }} }}"""
DELETE_TRACK = """mutation($input: DeleteTrackInput!) { deleteTrack(input: $input) {
  __typename ... on DeleteTrackSuccess { id } ... on Error { code message } } }"""
TRACKS = f"""query($org: ID!, $first: Int, $after: String) {{
  tracks(organizationId: $org, first: $first, after: $after) {{
  edges {{ cursor node {{ {TRACK_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"""
TRACK = f"query($id: ID!) {{ track(id: $id) {{ {TRACK_FIELDS} }} }}"
AUDIT_LOG = """query($org: ID, $filter: AuditLogFilter, $first: Int, $after: String) {
  auditLog(organizationId: $org, filter: $filter, first: $first, after: $after) {
    edges { cursor node { id occurredAt actorId organizationId action subjectIds requestId sourceIp detail
      actor { id } } }
    pageInfo { hasNextPage endCursor } } }"""
ENTITIES = """query($representations: [_Any!]!) { _entities(representations: $representations) {
  __typename
  ... on Organization { id name slug }
  ... on Membership { id role user { id } organization { id name } }
  ... on Track { id name courseIds }
  ... on AuditLogEntry { id action }
  ... on User { id memberships { id role organization { id name } } } } }"""


def reps(typename: str, *ids: str) -> dict:
    return {"representations": [{"__typename": typename, "id": str(i)} for i in ids]}
