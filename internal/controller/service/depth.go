package service

// QueueDepth is how many clusters wait for a reconcile round: changed since
// the last round began, or failed in it. It stays near zero on a controller
// that keeps up; a steady rise means rounds take longer than changes arrive.
func (c *Controller) QueueDepth() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.dirty)
}
