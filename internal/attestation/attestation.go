// Package attestation is PEP 740 as PyPI implements it: the attestation
// object (pypi-attestations' Attestation model), the verification PyPI
// runs on upload (pypi-attestations Attestation.verify over
// sigstore-python's Verifier.verify_dsse), the publisher policies for
// GitHub, GitLab and Google, and the provenance object the integrity API
// serves (warehouse/attestations/services.py build_provenance).
//
// Verification takes the trusted root as a value, so the index checks
// attestations made by the fake Sigstore (internal/sigstore) exactly as
// PyPI checks those made by the public-good instance. Its error texts are
// sigstore-python 4.5.0's and pypi-attestations 0.0.29's, the versions
// pinned in warehouse/requirements/main.txt.
package attestation

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Predicate types PyPI accepts (pypi-attestations AttestationType,
// warehouse/attestations/services.py SUPPORTED_ATTESTATION_TYPES).
const (
	PredicatePublishV1 = "https://docs.pypi.org/attestations/publish/v1"
	PredicateSLSAV1    = "https://slsa.dev/provenance/v1"
	StatementTypeV1    = "https://in-toto.io/Statement/v1"
)

// Attestation is PEP 740's attestation object (pypi-attestations
// Attestation): version 1, the signing certificate and its log entries,
// and the DSSE envelope reduced to the statement and one signature.
type Attestation struct {
	Version              int                  `json:"version"`
	VerificationMaterial VerificationMaterial `json:"verification_material"`
	Envelope             AttestationEnvelope  `json:"envelope"`
}

// VerificationMaterial is the certificate (DER) and at least one
// transparency log entry.
type VerificationMaterial struct {
	Certificate         []byte      `json:"certificate"`
	TransparencyEntries []TlogEntry `json:"transparency_entries"`
}

// AttestationEnvelope is the statement (the DSSE payload) and its
// signature.
type AttestationEnvelope struct {
	Statement []byte `json:"statement"`
	Signature []byte `json:"signature"`
}

// Statement is the in-toto v1 statement a publish attestation signs.
type Statement struct {
	Type          string          `json:"_type"`
	Subject       []Subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

// Subject is one artifact of a statement.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// PublishStatement is the statement gh-action-pypi-publish signs for a
// distribution (pypi-attestations Attestation.sign: one subject, predicate
// type publish/v1, no predicate), serialized as sigstore-python does
// (pydantic model_dump_json(by_alias=True): compact, "predicate":null).
func PublishStatement(filename, sha256hex string) []byte {
	name, _ := json.Marshal(filename)
	return []byte(fmt.Sprintf(`{"_type":%q,"subject":[{"name":%s,"digest":{"sha256":%q}}],"predicateType":%q,"predicate":null}`,
		StatementTypeV1, name, sha256hex, PredicatePublishV1))
}

// Publisher is the trusted publisher identity stored with provenance
// (pypi-attestations GitHubPublisher, GitLabPublisher, GooglePublisher;
// warehouse/oidc/models/*.py attestation_identity). Its JSON is the
// model_dump(mode="json") of those models: every field, null when unset.
type Publisher struct {
	Kind string // "GitHub", "GitLab" or "Google"
	// GitHub: "owner/repo"; GitLab: "namespace/project".
	Repository string
	// GitHub: the workflow filename; GitLab: the CI config path.
	Workflow    string
	Environment string // "" is null
	Email       string // Google
}

// MarshalJSON writes the publisher in pydantic's field order, with
// "claims": null (the _PublisherBase field pypi-attestations 0.0.29 adds).
func (p Publisher) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	str := func(s string) string {
		j, _ := json.Marshal(s)
		return string(j)
	}
	orNull := func(s string) string {
		if s == "" {
			return "null"
		}
		return str(s)
	}
	b.WriteString(`{"kind":` + str(p.Kind))
	switch p.Kind {
	case "GitHub":
		b.WriteString(`,"claims":null,"repository":` + str(p.Repository) + `,"workflow":` + str(p.Workflow) + `,"environment":` + orNull(p.Environment))
	case "GitLab":
		b.WriteString(`,"claims":null,"repository":` + str(p.Repository) + `,"workflow_filepath":` + str(p.Workflow) + `,"environment":` + orNull(p.Environment))
	case "Google":
		b.WriteString(`,"claims":null,"email":` + str(p.Email))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads any of the three publisher shapes.
func (p *Publisher) UnmarshalJSON(data []byte) error {
	var raw struct {
		Kind             string  `json:"kind"`
		Repository       string  `json:"repository"`
		Workflow         string  `json:"workflow"`
		WorkflowFilepath string  `json:"workflow_filepath"`
		Environment      *string `json:"environment"`
		Email            string  `json:"email"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	*p = Publisher{Kind: raw.Kind, Repository: raw.Repository, Workflow: raw.Workflow, Email: raw.Email}
	if raw.Kind == "GitLab" {
		p.Workflow = raw.WorkflowFilepath
	}
	if raw.Environment != nil {
		p.Environment = *raw.Environment
	}
	return nil
}

// Provenance is PEP 740's provenance object as Warehouse stores it.
type Provenance struct {
	Version            int      `json:"version"`
	AttestationBundles []Bundle `json:"attestation_bundles"`
}

// Bundle is one attestation bundle: the publisher and its attestations.
type Bundle struct {
	Publisher    Publisher     `json:"publisher"`
	Attestations []Attestation `json:"attestations"`
}

// BuildProvenance is build_provenance: one bundle naming the publisher
// that minted the upload token, holding the uploaded attestations.
func BuildProvenance(p Publisher, atts []Attestation) ([]byte, error) {
	return json.Marshal(Provenance{Version: 1, AttestationBundles: []Bundle{{Publisher: p, Attestations: atts}}})
}

// ErrNotAList is the shape error of an attestations field that is not a
// JSON list.
var ErrNotAList = errors.New("not a list")
