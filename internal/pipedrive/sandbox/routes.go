package sandbox

// routes maps the operations the sandbox serves, by cost.Op.Endpoint(), to
// their handlers. A published operation that is not here answers 404, and
// an operation the documents do not publish never reaches this table.
var routes = map[string]handler{}

func init() {
	for _, kind := range []string{kPersons, kOrgs, kDeals, kActivities} {
		base := "/api/v2/" + kind
		routes["GET "+base] = listV2
		routes["POST "+base] = createV2
		routes["GET "+base+"/{id}"] = getV2
		routes["PATCH "+base+"/{id}"] = updateV2
		routes["DELETE "+base+"/{id}"] = deleteV2
	}
	for _, kind := range []string{kPipelines, kStages} {
		routes["GET /api/v2/"+kind] = listV2
		routes["POST /api/v2/"+kind] = createV2
	}
	for coll := range fieldEntity {
		routes["GET /api/v2/"+coll] = getFields
		routes["POST /api/v2/"+coll] = addField
		routes["GET /api/v2/"+coll+"/{field_code}"] = getField
	}
	routes["GET /api/v2/persons/search"] = searchPersons
	routes["GET /api/v2/organizations/search"] = searchOrganizations
	routes["GET /v1/notes"] = listNotes
	routes["POST /v1/notes"] = addNote
	routes["GET /v1/notes/{id}"] = getNote
	routes["PUT /v1/notes/{id}"] = updateNote
	routes["DELETE /v1/notes/{id}"] = deleteNote
	routes["GET /v1/files"] = listFiles
	routes["POST /v1/files"] = addFile
	routes["GET /v1/files/{id}"] = getFile
	routes["DELETE /v1/files/{id}"] = deleteFile
	routes["GET /v1/deals/{id}/participants"] = listParticipants
	routes["POST /v1/deals/{id}/participants"] = addParticipant
	routes["DELETE /v1/deals/{id}/participants/{deal_participant_id}"] = deleteParticipant
	routes["GET /v1/users"] = listUsers
	routes["POST /v1/users"] = addUser
	routes["GET /v1/users/me"] = currentUser
	routes["GET /v1/activityTypes"] = listActivityTypes
	routes["POST /v1/activityTypes"] = addActivityType
	addDeleteRoutes()
}
