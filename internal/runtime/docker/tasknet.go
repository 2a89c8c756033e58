package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"

	"github.com/wharf-ecs/wharf/internal/runtime"
)

// Task networks (awsvpc) on Docker: a bridge network per name, created on
// first use, and per task a pause container on it whose network namespace
// the task's containers join. The pause image is made here, with no
// registry and no build: a tar holding one tiny static program that blocks
// forever, imported as PauseImage.

// PauseImage is the image of the pause containers.
const PauseImage = "wharf-pause:1"

// LabelSubnet marks the networks made for task networks.
const LabelSubnet = "org.wharf-ecs.subnet"

var _ runtime.TaskNetworker = (*Runtime)(nil)

// pauseMu serializes the import of the pause image, netMu the creation of
// networks, within this process.
var pauseMu, netMu sync.Mutex

// EnsureTaskNetwork makes the network and the pause container, or finds them.
func (r *Runtime) EnsureTaskNetwork(ctx context.Context, spec runtime.TaskNetworkSpec) (runtime.TaskNetwork, error) {
	netID, err := r.ensureNetwork(ctx, spec.Network)
	if err != nil {
		return runtime.TaskNetwork{}, err
	}
	if err := r.ensurePauseImage(ctx); err != nil {
		return runtime.TaskNetwork{}, err
	}
	cfg := &container.Config{Image: PauseImage, Labels: spec.Labels, Hostname: spec.Hostname}
	host := &container.HostConfig{NetworkMode: container.NetworkMode(netID)}
	id := ""
	created, err := r.cli.ContainerCreate(ctx, cfg, host, nil, nil, spec.Name)
	switch {
	case err == nil:
		id = created.ID
	case cerrdefs.IsConflict(err):
		id = spec.Name // made before: find it by name
	default:
		return runtime.TaskNetwork{}, r.fail("create pause container", spec.Name, err)
	}
	info, err := r.cli.ContainerInspect(ctx, id)
	if err != nil {
		return runtime.TaskNetwork{}, r.fail("inspect pause container", spec.Name, err)
	}
	if info.State == nil || !info.State.Running {
		if err := r.cli.ContainerStart(ctx, info.ID, container.StartOptions{}); err != nil {
			return runtime.TaskNetwork{}, r.fail("start pause container", spec.Name, err)
		}
		if info, err = r.cli.ContainerInspect(ctx, info.ID); err != nil {
			return runtime.TaskNetwork{}, r.fail("inspect pause container", spec.Name, err)
		}
	}
	var ep *network.EndpointSettings
	for _, e := range info.NetworkSettings.Networks {
		if e != nil && e.NetworkID == netID {
			ep = e
		}
	}
	if ep == nil || ep.IPAddress == "" {
		return runtime.TaskNetwork{}, fmt.Errorf("pause container %s has no address on network %s", spec.Name, spec.Network)
	}
	return runtime.TaskNetwork{ID: info.ID, Network: spec.Network, IPv4: ep.IPAddress, IPv6: ep.GlobalIPv6Address,
		MACAddress: ep.MacAddress, Gateway: ep.Gateway}, nil
}

// RemoveTaskNetwork kills and removes the pause container.
func (r *Runtime) RemoveTaskNetwork(ctx context.Context, name string) error {
	err := r.cli.ContainerRemove(ctx, name, container.RemoveOptions{Force: true})
	if err == nil || cerrdefs.IsNotFound(err) {
		return nil
	}
	return r.fail("remove pause container", name, err)
}

// ensureNetwork returns the ID of the bridge network of that name, creating
// it when missing. Docker lets two creates of one name both succeed (agents
// on one daemon may race), so the oldest network of the name is the one:
// every agent picks the same.
func (r *Runtime) ensureNetwork(ctx context.Context, name string) (string, error) {
	netMu.Lock()
	defer netMu.Unlock()
	if id, err := r.networkID(ctx, name); err != nil || id != "" {
		return id, err
	}
	_, err := r.cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: map[string]string{LabelSubnet: name}})
	if err != nil && !cerrdefs.IsConflict(err) {
		return "", r.fail("create network", name, err)
	}
	id, err := r.networkID(ctx, name)
	if err == nil && id == "" {
		err = fmt.Errorf("network %s vanished right after it was created", name)
	}
	return id, err
}

// networkID is the ID of the oldest network named exactly name ("" if none).
func (r *Runtime) networkID(ctx context.Context, name string) (string, error) {
	nets, err := r.cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("name", name))})
	if err != nil {
		return "", r.fail("list networks", name, err)
	}
	var best *network.Summary
	for i := range nets {
		n := &nets[i]
		if n.Name != name {
			continue // the filter matches substrings
		}
		if best == nil || n.Created.Before(best.Created) || n.Created.Equal(best.Created) && n.ID < best.ID {
			best = n
		}
	}
	if best == nil {
		return "", nil
	}
	return best.ID, nil
}

// ensurePauseImage imports the pause image when it is missing.
func (r *Runtime) ensurePauseImage(ctx context.Context) error {
	pauseMu.Lock()
	defer pauseMu.Unlock()
	if ok, err := r.ImageExists(ctx, PauseImage); err != nil || ok {
		return err
	}
	v, err := r.cli.ServerVersion(ctx)
	if err != nil {
		return r.fail("version", "", err)
	}
	prog, err := pauseProgram(v.Arch)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "pause", Mode: 0o755, Size: int64(len(prog)), Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(prog); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	rc, err := r.cli.ImageImport(ctx, image.ImportSource{Source: &buf, SourceName: "-"}, PauseImage,
		image.ImportOptions{Changes: []string{`CMD ["/pause"]`}, Platform: "linux/" + v.Arch})
	if err != nil {
		return r.fail("import pause image", PauseImage, err)
	}
	defer rc.Close()
	if _, err := bytes.NewBuffer(nil).ReadFrom(rc); err != nil {
		return fmt.Errorf("import pause image: %w", err)
	}
	return nil
}

// pauseProgram is a static Linux executable that blocks in a system call
// forever (pause on amd64, ppoll with no descriptors on arm64), looping if
// a signal wakes it: the whole of a pause container's work.
func pauseProgram(arch string) ([]byte, error) {
	var machine uint16
	var code []byte
	switch arch {
	case "amd64":
		machine = 0x3e
		code = []byte{
			0xb8, 0x22, 0x00, 0x00, 0x00, // mov eax, 34 (pause)
			0x0f, 0x05, // syscall
			0xeb, 0xf7, // jmp back to the mov
		}
	case "arm64":
		machine = 0xb7
		for _, ins := range []uint32{
			0xd2800000, // mov x0, #0   (fds)
			0xd2800001, // mov x1, #0   (nfds)
			0xd2800002, // mov x2, #0   (no timeout)
			0xd2800003, // mov x3, #0   (no sigmask)
			0xd2800004, // mov x4, #0
			0xd2800928, // mov x8, #73  (ppoll)
			0xd4000001, // svc #0
			0x17fffff9, // b back to the first mov
		} {
			code = binary.LittleEndian.AppendUint32(code, ins)
		}
	default:
		return nil, errors.New("awsvpc tasks need an amd64 or arm64 Docker host; this one is " + arch)
	}
	const base, headers = 0x400000, 64 + 56
	size := uint64(headers + len(code))
	b := make([]byte, 0, size)
	le := binary.LittleEndian
	// ELF header: 64-bit, little-endian, executable.
	b = append(b, 0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	b = le.AppendUint16(b, 2) // ET_EXEC
	b = le.AppendUint16(b, machine)
	b = le.AppendUint32(b, 1)            // EV_CURRENT
	b = le.AppendUint64(b, base+headers) // entry
	b = le.AppendUint64(b, 64)           // program headers' offset
	b = le.AppendUint64(b, 0)            // no section headers
	b = le.AppendUint32(b, 0)            // flags
	b = le.AppendUint16(b, 64)           // header size
	b = le.AppendUint16(b, 56)           // program header size
	b = le.AppendUint16(b, 1)            // one program header
	b = le.AppendUint16(b, 0)            // section header size
	b = le.AppendUint16(b, 0)            // no sections
	b = le.AppendUint16(b, 0)            // no section names
	// One loadable segment, readable and executable: the whole file.
	b = le.AppendUint32(b, 1) // PT_LOAD
	b = le.AppendUint32(b, 5) // PF_R | PF_X
	b = le.AppendUint64(b, 0) // offset
	b = le.AppendUint64(b, base)
	b = le.AppendUint64(b, base)
	b = le.AppendUint64(b, size)
	b = le.AppendUint64(b, size)
	b = le.AppendUint64(b, 0x1000)
	return append(b, code...), nil
}
