// @syncrepl-rx/server: a skeleton until its issue lands (see the README roadmap).
export {};
