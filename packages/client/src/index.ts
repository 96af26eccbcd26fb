// @syncrepl-rx/client: a skeleton until its issue lands (see the README roadmap).
export {};
