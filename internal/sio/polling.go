package sio

import (
	"errors"
	"io"
	"net/http"
)

// poll answers a long-polling GET with everything queued, waiting for something if nothing is.
func (c *Socket) poll(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.transport == viaWebsocket {
		c.mu.Unlock()
		refuse(w, http.StatusBadRequest, codeBadRequest, "Bad request") // the session moved to its websocket
		return
	}
	if c.getting {
		c.mu.Unlock()
		refuse(w, http.StatusBadRequest, codeBadRequest, "Bad request")
		c.close(ErrOverlap)
		return
	}
	c.getting = true
	for len(c.queue) == 0 && !c.closed && c.transport != viaWebsocket {
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-r.Context().Done(): // the client hung up: the tab is gone, as the reference server takes it
			c.mu.Lock()
			c.getting = false
			c.mu.Unlock()
			c.close(ErrTransportClose)
			return
		}
		c.mu.Lock()
	}
	var packets [][]byte
	taken := 0
	switch {
	case c.closed:
		packets = [][]byte{{pClose}}
	case c.transport == viaWebsocket: // released by the upgrade; the queue now goes to the websocket
		packets = [][]byte{{pNoop}}
	default:
		packets, c.queue = c.queue, nil
		for _, p := range packets {
			taken += len(p)
		}
	}
	c.getting = false
	c.mu.Unlock()
	body := appendPayload(nil, c.version, packets)
	w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err := w.Write(body)
	c.mu.Lock()
	if !c.closed {
		c.queued -= taken
	}
	c.mu.Unlock()
	if err != nil {
		c.close(ErrTransportClose)
	}
}

// post handles a polling POST: a payload of packets from the client.
func (c *Socket) post(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	if c.transport == viaWebsocket {
		c.mu.Unlock()
		refuse(w, http.StatusBadRequest, codeBadRequest, "Bad request")
		return
	}
	if c.posting {
		c.mu.Unlock()
		refuse(w, http.StatusBadRequest, codeBadRequest, "Bad request")
		c.close(ErrOverlap)
		return
	}
	c.posting = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.posting = false
		c.mu.Unlock()
	}()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPacketBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		refuse(w, http.StatusRequestEntityTooLarge, codeBadRequest, ErrTooLarge.Error())
		c.close(ErrTooLarge)
		return
	case err != nil:
		c.close(ErrTransportClose)
		return
	}
	packets, err := decodePayload(c.version, body)
	if err != nil {
		refuse(w, http.StatusBadRequest, codeBadRequest, err.Error())
		c.close(ErrBadPacket)
		return
	}
	for _, p := range packets {
		if !c.receive(p) {
			break
		}
	}
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte("ok"))
}
