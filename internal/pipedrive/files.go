package pipedrive

import (
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
)

const filesPath = v1 + "/files"

// maxFilesPage is v1's largest page of GET /v1/files.
const maxFilesPage = 100

// File is a v1 file.
type File struct {
	ID         int    `json:"id"`
	Name       string `json:"name"`
	FileName   string `json:"file_name"`
	FileSize   int64  `json:"file_size"`
	FileType   string `json:"file_type,omitempty"`
	DealID     int    `json:"deal_id,omitempty"`
	PersonID   int    `json:"person_id,omitempty"`
	OrgID      int    `json:"org_id,omitempty"`
	ActiveFlag bool   `json:"active_flag"`
	AddTime    Time   `json:"add_time"`
	UpdateTime Time   `json:"update_time"`
}

// FileInput is a file to upload to a deal. Body is read once, as the
// request is sent, never held in memory whole; Size, if known (> 0), is
// its exact length and lets the request carry a Content-Length.
//
// A failed upload is retried only if nothing of Body was read, or Body is
// an io.Seeker (it is rewound to where it was).
type FileInput struct {
	Name   string
	Body   io.Reader
	Size   int64
	DealID int
}

// UploadFile uploads a file and attaches it to a deal (multipart POST
// /v1/files, streamed through a pipe). A dropped connection after sending
// gives *OutcomeUnknownError.
func (c *Client) UploadFile(ctx context.Context, in FileInput) (File, error) {
	name := strings.TrimSpace(in.Name)
	if name == "" || in.Body == nil {
		return File{}, fmt.Errorf("pipedrive: upload file: a name and a body are needed")
	}
	if in.DealID == 0 {
		return File{}, fmt.Errorf("pipedrive: upload file: no deal to attach it to")
	}
	if in.Size < 0 {
		return File{}, fmt.Errorf("pipedrive: upload file: negative size %d", in.Size)
	}
	src := &countingReader{r: in.Body}
	var origin int64 = -1
	if s, ok := in.Body.(io.Seeker); ok {
		if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
			origin = pos
		}
	}
	boundary := multipart.NewWriter(io.Discard).Boundary()
	length := int64(-1)
	if in.Size > 0 {
		n, err := multipartOverhead(boundary, name, in.DealID)
		if err != nil {
			return File{}, fmt.Errorf("pipedrive: upload file: %w", err)
		}
		length = n + in.Size
	}
	stream := func(attempt int) (io.Reader, string, int64, error) {
		if src.n.Load() > 0 {
			s, ok := in.Body.(io.Seeker)
			if !ok || origin < 0 {
				return nil, "", 0, errNotReplayable
			}
			if _, err := s.Seek(origin, io.SeekStart); err != nil {
				return nil, "", 0, errNotReplayable
			}
			src.n.Store(0)
		}
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		if err := mw.SetBoundary(boundary); err != nil {
			return nil, "", 0, err
		}
		go func() {
			pw.CloseWithError(writeFileParts(mw, name, in.DealID, src))
		}()
		return pr, mw.FormDataContentType(), length, nil
	}
	var out one[File]
	err := c.do(ctx, call{method: http.MethodPost, path: filesPath, stream: stream}, &out)
	return out.Data, err
}

func writeFileParts(mw *multipart.Writer, name string, dealID int, body io.Reader) error {
	if err := mw.WriteField("deal_id", strconv.Itoa(dealID)); err != nil {
		return err
	}
	part, err := mw.CreateFormFile("file", name)
	if err != nil {
		return err
	}
	if body != nil {
		if _, err := io.Copy(part, body); err != nil {
			return err
		}
	}
	return mw.Close()
}

// multipartOverhead is the length of the multipart envelope around a file.
func multipartOverhead(boundary, name string, dealID int) (int64, error) {
	var cw countingWriter
	mw := multipart.NewWriter(&cw)
	if err := mw.SetBoundary(boundary); err != nil {
		return 0, err
	}
	if err := writeFileParts(mw, name, dealID, nil); err != nil {
		return 0, err
	}
	return cw.n, nil
}

type countingWriter struct{ n int64 }

// Write counts p.
func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

// Read reads and counts.
func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n.Add(int64(n))
	return n, err
}

// ListFiles calls fn with every file of the company, page by page (at
// most 100 a page).
func (c *Client) ListFiles(ctx context.Context, opt ListOptions, fn func(File) error) error {
	return listV1(ctx, c, filesPath, nil, opt.limit(maxFilesPage), fn)
}

// DeleteFile deletes file id.
func (c *Client) DeleteFile(ctx context.Context, id int) error {
	return deleteOne(ctx, c, itemPath(filesPath, id))
}

// GetFile returns file id (a deleted one with ActiveFlag false); a missing
// one is *NotFoundError.
func (c *Client) GetFile(ctx context.Context, id int) (File, error) {
	var out one[File]
	err := c.do(ctx, call{method: http.MethodGet, path: itemPath(filesPath, id)}, &out)
	return out.Data, err
}
