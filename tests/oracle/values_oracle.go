// values_oracle asks the Go reference (appc/spec v0.8.11, as Debian packages
// it) for its verdict on value types, one JSON request per line on stdin, one
// JSON answer per line on stdout. The Python tests use it to generate and
// re-check tests/vectors/*.json and to fuzz appc's value types against Go,
// (kind proxy_for) to check appc's proxy rules against net/http's, and (kind
// render) to check appc.render against pkg/acirenderer.
//
// Build: GOPATH=/usr/share/gocode GO111MODULE=off go build -o ORACLE values_oracle.go
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/appc/spec/aci"
	"github.com/appc/spec/discovery"
	"github.com/appc/spec/pkg/acirenderer"
	"github.com/appc/spec/schema"
	"github.com/appc/spec/schema/types"
	"github.com/appc/spec/schema/types/resource"
	"golang.org/x/net/http/httpproxy"
)

type request struct {
	Kind  string          `json:"kind"`
	Input string          `json:"input"`
	Other string          `json:"other"`
	Extra string          `json:"extra"`
	Raw   json.RawMessage `json:"raw"`
}

type answer map[string]interface{}

func fail(err error) answer {
	return answer{"ok": false, "error": err.Error()}
}

func handle(r request) (a answer) {
	defer func() {
		if p := recover(); p != nil {
			a = answer{"ok": false, "panic": true}
		}
	}()
	switch r.Kind {
	case "acidentifier":
		if _, err := types.NewACIdentifier(r.Input); err != nil {
			return fail(err)
		}
		return answer{"ok": true}
	case "acname":
		if _, err := types.NewACName(r.Input); err != nil {
			return fail(err)
		}
		return answer{"ok": true}
	case "sanitize_acidentifier":
		s, err := types.SanitizeACIdentifier(r.Input)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": s}
	case "sanitize_acname":
		s, err := types.SanitizeACName(r.Input)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": s}
	case "semver":
		v, err := types.NewSemVer(r.Input)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": v.String()}
	case "semver_less":
		a, err := types.NewSemVer(r.Input)
		if err != nil {
			return fail(err)
		}
		b, err := types.NewSemVer(r.Other)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "less": a.LessThanExact(*b), "greater": b.LessThanExact(*a)}
	case "hash":
		h, err := types.NewHash(r.Input)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": h.String()}
	case "short_hash":
		return answer{"ok": true, "output": types.ShortHash(r.Input)}
	case "labels":
		var l types.Labels
		if err := json.Unmarshal(r.Raw, &l); err != nil {
			return fail(err)
		}
		out, err := json.Marshal(l)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": json.RawMessage(out)}
	case "labels_from_map":
		var m map[types.ACIdentifier]string
		if err := json.Unmarshal(r.Raw, &m); err != nil {
			return fail(err)
		}
		l, err := types.LabelsFromMap(m)
		if err != nil {
			return fail(err)
		}
		out, _ := json.Marshal(l)
		return answer{"ok": true, "output": json.RawMessage(out)}
	case "annotations":
		var an types.Annotations
		if err := json.Unmarshal(r.Raw, &an); err != nil {
			return fail(err)
		}
		out, err := json.Marshal(an)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": json.RawMessage(out)}
	case "uuid":
		u, err := types.NewUUID(r.Input)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": u.String(), "empty": u.Empty()}
	case "date":
		d, err := types.NewDate(r.Input)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": d.String()}
	case "url":
		u, err := types.NewURL(r.Input)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": u.String()}
	case "quantity":
		q, err := resource.ParseQuantity(r.Input)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": q.String()}
	case "quantity_value":
		// Separate from "quantity": Value() loops once per power of ten.
		q, err := resource.ParseQuantity(r.Input)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "value": q.Value(), "milli": q.MilliValue()}
	case "app":
		app, err := discovery.NewAppFromString(r.Input)
		if err != nil {
			return fail(err)
		}
		labels := map[string]string{}
		for k, v := range app.Labels {
			labels[string(k)] = v
		}
		return answer{"ok": true, "name": string(app.Name), "labels": labels}
	case "manifest":
		// What Go writes back for a manifest it reads (image or pod).
		var k schema.Kind
		if err := k.UnmarshalJSON(r.Raw); err != nil {
			return fail(err)
		}
		var m interface{}
		if k.ACKind == "PodManifest" {
			m = &schema.PodManifest{}
		} else {
			m = &schema.ImageManifest{}
		}
		if err := json.Unmarshal(r.Raw, m); err != nil {
			return fail(err)
		}
		out, err := json.Marshal(m)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": json.RawMessage(out)}
	case "to_appc_os_arch":
		os, arch, err := types.ToAppcOSArch(r.Input, r.Other, r.Extra)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": []string{os, arch}}
	case "to_go_os_arch":
		os, arch, flavor, err := types.ToGoOSArch(r.Input, r.Other)
		if err != nil {
			return fail(err)
		}
		return answer{"ok": true, "output": []string{os, arch, flavor}}
	case "proxy_for":
		// The proxy net/http's ProxyFromEnvironment picks for a request URL
		// (Input), from the variables' values in Raw; "" when none.
		var c struct {
			HTTP  string `json:"http"`
			HTTPS string `json:"https"`
			No    string `json:"no"`
			CGI   bool   `json:"cgi"`
		}
		if err := json.Unmarshal(r.Raw, &c); err != nil {
			return fail(err)
		}
		u, err := url.Parse(r.Input)
		if err != nil {
			return fail(err)
		}
		cfg := httpproxy.Config{HTTPProxy: c.HTTP, HTTPSProxy: c.HTTPS, NoProxy: c.No, CGI: c.CGI}
		proxy, err := cfg.ProxyFunc()(u)
		if err != nil {
			return fail(err)
		}
		if proxy == nil {
			return answer{"ok": true, "output": ""}
		}
		return answer{"ok": true, "output": proxy.String()}
	case "render":
		// The files each image provides when Input (an image ID) is rendered
		// with its dependencies from the images in Raw (uncompressed ACIs).
		var images []renderImage
		if err := json.Unmarshal(r.Raw, &images); err != nil {
			return fail(err)
		}
		top, err := types.NewHash(r.Input)
		if err != nil {
			return fail(err)
		}
		rendered, err := acirenderer.GetRenderedACIWithImageID(*top, &registry{images})
		if err != nil {
			return fail(err)
		}
		out := []answer{}
		for _, files := range rendered {
			names := []string{}
			for name := range files.FileMap {
				names = append(names, name)
			}
			sort.Strings(names)
			out = append(out, answer{"key": files.Key, "files": names})
		}
		return answer{"ok": true, "output": out}
	}
	return answer{"ok": false, "error": "unknown kind " + r.Kind}
}

type renderImage struct {
	Key  string `json:"key"`
	Path string `json:"path"`
}

// registry serves the images of a render request, as rkt's store did: by
// ID prefix, or the first image with a name and every label asked for.
type registry struct {
	images []renderImage
}

func (g *registry) ReadStream(key string) (io.ReadCloser, error) {
	for _, img := range g.images {
		if img.Key == key {
			return os.Open(img.Path)
		}
	}
	return nil, fmt.Errorf("no image %s", key)
}

func (g *registry) ResolveKey(key string) (string, error) {
	for _, img := range g.images {
		if strings.HasPrefix(img.Key, key) {
			return img.Key, nil
		}
	}
	return "", fmt.Errorf("no image %s", key)
}

func (g *registry) HashToKey(h hash.Hash) string {
	return fmt.Sprintf("sha512-%x", h.Sum(nil))
}

func (g *registry) GetImageManifest(key string) (*schema.ImageManifest, error) {
	rs, err := g.ReadStream(key)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	return aci.ManifestFromImage(rs.(*os.File))
}

func (g *registry) GetACI(name types.ACIdentifier, labels types.Labels) (string, error) {
	for _, img := range g.images {
		im, err := g.GetImageManifest(img.Key)
		if err != nil {
			return "", err
		}
		if im.Name != name {
			continue
		}
		match := true
		for _, l := range labels {
			if v, ok := im.Labels.Get(string(l.Name)); !ok || v != l.Value {
				match = false
			}
		}
		if match {
			return img.Key, nil
		}
	}
	return "", fmt.Errorf("no image %s", name)
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	// One answer per request, flushed at once, so callers can talk in turns.
	enc := json.NewEncoder(flusher{out})
	for in.Scan() {
		var r request
		if err := json.Unmarshal(in.Bytes(), &r); err != nil {
			_ = enc.Encode(answer{"ok": false, "error": "bad request: " + err.Error()})
			continue
		}
		// Go's quantity parser never finishes on some inputs (1e-2147483648):
		// answer "timeout" and stop, so the caller can start a new oracle.
		done := make(chan answer, 1)
		go func() { done <- handle(r) }()
		select {
		case a := <-done:
			_ = enc.Encode(a)
		case <-time.After(5 * time.Second):
			_ = enc.Encode(answer{"ok": false, "timeout": true})
			out.Flush()
			os.Exit(3)
		}
	}
}

type flusher struct{ w *bufio.Writer }

func (f flusher) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.w.Flush()
	}
	return n, err
}
