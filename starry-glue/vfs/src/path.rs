//! The mount table and path resolution.
//!
//! A [`Location`] is the chain of directories from the root to a node, with
//! the name of each step. Resolving `..` drops the last step, so `..` at the
//! root of a mounted file system returns to the directory it is mounted on,
//! and `getcwd` joins the names.
//!
//! A path walk borrows the location it starts from and keeps the steps it
//! adds on the stack, naming each step by a byte range of the path (or of a
//! symbolic link's target). So it allocates only the targets of the links it
//! follows, and only callers that keep the result get a [`Location`], built
//! with two allocations. The nodes that file systems return are their own.

use alloc::{
    string::{String, ToString},
    sync::Arc,
    vec,
    vec::Vec,
};

use smallvec::SmallVec;
use spin::RwLock;

use crate::{
    LinuxError, MAX_SYMLINKS, NAME_MAX, NodeType, PATH_MAX, VfsResult,
    node::{FileSystem, NodeId, NodeRef},
};

/// Number of steps a walk keeps on the stack before it moves them to the
/// heap. `/opt/python3.11/lib/python3.11/site-packages/pkg/mod.py` has 7.
const WALK_INLINE_STEPS: usize = 16;

/// A resolved node together with the directories that lead to it.
#[derive(Clone)]
pub struct Location {
    /// The absolute path without a trailing `/`, empty for the root.
    path: String,
    /// The root first, then one step for each component of `path`.
    steps: Vec<Step>,
}

#[derive(Clone)]
struct Step {
    /// Byte offset in [`Location::path`] where the step's name ends; 0 for
    /// the root. The name starts after the `/` that ends the step before.
    name_end: usize,
    node: NodeRef,
}

impl Location {
    pub(crate) fn new_root(root: NodeRef) -> Self {
        Self {
            path: String::new(),
            steps: vec![Step { name_end: 0, node: root }],
        }
    }

    /// Returns the node this location names.
    pub fn node(&self) -> &NodeRef {
        &self.steps[self.steps.len() - 1].node
    }

    /// Returns the absolute path, `/` for the root.
    pub fn path(&self) -> String {
        if self.path.is_empty() {
            return "/".to_string();
        }
        self.path.clone()
    }

    /// Returns the name of the last step; empty for the root.
    pub fn name(&self) -> &str {
        let last = self.steps.len() - 1;
        if last == 0 {
            return "";
        }
        let start = self.steps[last - 1].name_end + 1;
        &self.path[start..self.steps[last].name_end]
    }

    /// Returns whether this is the root of the whole tree.
    pub fn is_root(&self) -> bool {
        self.steps.len() == 1
    }

    /// Returns the location of the parent directory; the root is its own parent.
    pub fn parent(&self) -> Location {
        if self.is_root() {
            return self.clone();
        }
        let steps = &self.steps[..self.steps.len() - 1];
        let path_len = steps[steps.len() - 1].name_end;
        Location {
            path: String::from(&self.path[..path_len]),
            steps: steps.to_vec(),
        }
    }

    /// Returns whether `other` is this location or lies below it.
    pub fn is_ancestor_of(&self, other: &Location) -> bool {
        self.steps.len() <= other.steps.len()
            && self
                .steps
                .iter()
                .zip(&other.steps)
                .all(|(a, b)| a.node.id() == b.node.id())
    }

    /// Returns the location of `node`, an entry named `name` of this directory.
    pub fn join(&self, name: &str, node: NodeRef) -> Location {
        let mut path = String::with_capacity(self.path.len() + 1 + name.len());
        path.push_str(&self.path);
        path.push('/');
        path.push_str(name);
        let mut steps = Vec::with_capacity(self.steps.len() + 1);
        steps.extend_from_slice(&self.steps);
        steps.push(Step {
            name_end: path.len(),
            node,
        });
        Location { path, steps }
    }
}

/// A step that a [`Walk`] added to the location it started from.
struct WalkStep {
    /// Source of the name: 0 for the path being resolved, `i` for the
    /// target of the `i`-th symbolic link followed.
    source: usize,
    /// Byte range of the name in its source.
    start: usize,
    end: usize,
    node: NodeRef,
}

/// One name of a path: a component to look up, or `.` or `..`.
enum Component {
    Current,
    Parent,
    Name,
}

/// The state of one path resolution.
///
/// The chain of directories walked is the first `base_len` steps of `base`
/// followed by `steps`. `..` drops the last step of that chain, so it can
/// leave `base`.
struct Walk<'a> {
    mounts: &'a MountTable,
    base: &'a Location,
    base_len: usize,
    steps: SmallVec<[WalkStep; WALK_INLINE_STEPS]>,
    /// The path being resolved, source 0 of the step names.
    path: &'a str,
    /// Targets of the symbolic links followed so far, sources 1 and up.
    targets: Vec<String>,
}

impl<'a> Walk<'a> {
    fn new(mounts: &'a MountTable, base: &'a Location, path: &'a str) -> Self {
        Self {
            mounts,
            base,
            base_len: base.steps.len(),
            steps: SmallVec::new(),
            path,
            targets: Vec::new(),
        }
    }

    /// Returns the node that the walk has reached.
    fn node(&self) -> &NodeRef {
        match self.steps.last() {
            Some(step) => &step.node,
            None => &self.base.steps[self.base_len - 1].node,
        }
    }

    fn source_text(&self, source: usize) -> &str {
        match source {
            0 => self.path,
            link => &self.targets[link - 1],
        }
    }

    /// Returns to the root of the mount table.
    fn restart_at_root(&mut self) {
        let mounts = self.mounts;
        self.base = &mounts.root_location;
        self.base_len = 1;
        self.steps.clear();
    }

    /// Drops the last step of the chain; the root stays.
    fn pop(&mut self) {
        if self.steps.pop().is_none() && self.base_len > 1 {
            self.base_len -= 1;
        }
    }

    /// Walks every component of `source` (see [`Walk::source_text`]).
    ///
    /// `follow_last` selects whether a symbolic link in the last component
    /// is followed. Links in earlier components always are, and so is the
    /// last one when the text ends with `/`.
    fn walk(&mut self, source: usize, follow_last: bool) -> VfsResult<()> {
        let text = self.source_text(source);
        if text.is_empty() {
            return Err(LinuxError::ENOENT);
        }
        let must_be_directory = text.ends_with('/');
        if text.starts_with('/') {
            self.restart_at_root();
        }
        let mut next = next_component(self.source_text(source), 0);
        while let Some((start, end)) = next {
            next = next_component(self.source_text(source), end);
            let follow = next.is_some() || follow_last || must_be_directory;
            self.step(source, start, end, follow)?;
        }
        if must_be_directory && self.node().node_type() != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        Ok(())
    }

    /// Takes one step: to the name at `start..end` of `source`, crossing a
    /// mount point, and through a symbolic link there when `follow` is set.
    fn step(&mut self, source: usize, start: usize, end: usize, follow: bool) -> VfsResult<()> {
        if end - start > NAME_MAX {
            return Err(LinuxError::ENAMETOOLONG);
        }
        if self.node().node_type() != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        let name = &self.source_text(source)[start..end];
        let component = match name {
            "." => Component::Current,
            ".." => Component::Parent,
            _ => Component::Name,
        };
        let child = match component {
            Component::Current => return Ok(()),
            Component::Parent => {
                self.pop();
                return Ok(());
            }
            Component::Name => self.mounts.cover(self.node().lookup(name)?),
        };
        if follow && child.node_type() == NodeType::Symlink {
            if self.targets.len() >= MAX_SYMLINKS as usize {
                return Err(LinuxError::ELOOP);
            }
            let target = child.readlink()?;
            self.targets.push(target);
            return self.walk(self.targets.len(), true);
        }
        self.steps.push(WalkStep {
            source,
            start,
            end,
            node: child,
        });
        Ok(())
    }

    /// Returns the node the walk ended on.
    fn into_node(self) -> NodeRef {
        self.node().clone()
    }

    /// Returns the location the walk ended on, with the names of its steps
    /// copied into one string.
    fn into_location(mut self) -> Location {
        if self.steps.is_empty() && self.base_len == self.base.steps.len() {
            return self.base.clone();
        }
        let base_steps = &self.base.steps[..self.base_len];
        let base_path = &self.base.path[..base_steps[self.base_len - 1].name_end];
        let names_len: usize = self.steps.iter().map(|step| step.end - step.start + 1).sum();
        let mut path = String::with_capacity(base_path.len() + names_len);
        path.push_str(base_path);
        let mut steps = Vec::with_capacity(self.base_len + self.steps.len());
        steps.extend_from_slice(base_steps);
        let own_steps = core::mem::take(&mut self.steps);
        for step in own_steps {
            path.push('/');
            path.push_str(&self.source_text(step.source)[step.start..step.end]);
            steps.push(Step {
                name_end: path.len(),
                node: step.node,
            });
        }
        Location { path, steps }
    }
}

/// Returns the byte range of the first component of `text` at or after
/// `from`, skipping `/`s; `None` when only `/`s are left.
fn next_component(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let start = from + bytes[from..].iter().position(|&byte| byte != b'/')?;
    let end = bytes[start..]
        .iter()
        .position(|&byte| byte == b'/')
        .map_or(bytes.len(), |length| start + length);
    Some((start, end))
}

struct Mount {
    /// The directory that the file system covers.
    point: NodeId,
    path: String,
    fs: Arc<dyn FileSystem>,
    root: NodeRef,
}

/// The mounted file systems of the kernel: a root file system and file
/// systems mounted on its directories.
pub struct MountTable {
    root_fs: Arc<dyn FileSystem>,
    /// The location of `/`, where absolute paths start.
    root_location: Location,
    mounts: RwLock<Vec<Mount>>,
}

/// Result of [`MountTable::resolve_parent`].
pub struct ParentAndName<'a> {
    /// The directory that contains (or will contain) the last component.
    pub parent: Location,
    /// The last component; `.` for a path that names the root only (`/`).
    pub name: &'a str,
    /// The path ended with `/`, so the last component must be a directory.
    pub trailing_slash: bool,
}

impl MountTable {
    pub fn new(root_fs: Arc<dyn FileSystem>) -> Self {
        let root_location = Location::new_root(root_fs.root());
        Self {
            root_fs,
            root_location,
            mounts: RwLock::new(Vec::new()),
        }
    }

    /// Returns the location of `/`.
    pub fn root(&self) -> Location {
        self.root_location.clone()
    }

    /// Returns the location of `/` without copying it.
    pub fn root_location(&self) -> &Location {
        &self.root_location
    }

    /// Mounts `fs` on the existing directory `path` (absolute).
    pub fn mount(&self, path: &str, fs: Arc<dyn FileSystem>) -> VfsResult<()> {
        let location = self.resolve(&self.root_location, path, true)?;
        if location.node().node_type() != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        if location.is_root() {
            return Err(LinuxError::EBUSY);
        }
        let mut mounts = self.mounts.write();
        let point = location.node().id();
        if mounts.iter().any(|mount| mount.point == point) {
            return Err(LinuxError::EBUSY);
        }
        log::info!("vfs: mounted {} on {}", fs.name(), location.path());
        let root = fs.root();
        mounts.push(Mount {
            point,
            path: location.path(),
            fs,
            root,
        });
        Ok(())
    }

    /// Writes the cached data of every mounted file system to its device.
    pub fn sync_all(&self) -> VfsResult<()> {
        let mut result = Ok(());
        for mount in self.mounts.read().iter() {
            if let Err(error) = mount.fs.sync() {
                log::warn!("vfs: sync of {} failed: {:?}", mount.path, error);
                result = Err(error);
            }
        }
        if let Err(error) = self.root_fs.sync() {
            log::warn!("vfs: sync of / failed: {:?}", error);
            result = Err(error);
        }
        result
    }

    /// Unmounts every file system, the root last, so that their devices are
    /// clean before power-off. Returns the first error.
    pub fn unmount_all(&self) -> VfsResult<()> {
        let mut result = Ok(());
        let mut mounts = self.mounts.write();
        while let Some(mount) = mounts.pop() {
            if let Err(error) = mount.fs.unmount() {
                log::warn!("vfs: unmount of {} failed: {:?}", mount.path, error);
                result = result.and(Err(error));
            }
        }
        if let Err(error) = self.root_fs.unmount() {
            log::warn!("vfs: unmount of / failed: {:?}", error);
            result = result.and(Err(error));
        }
        result
    }

    /// Returns the mount points and file-system names, for `/proc/mounts`.
    pub fn mount_list(&self) -> Vec<(String, &'static str)> {
        let mut list = vec![("/".to_string(), self.root_fs.name())];
        list.extend(
            self.mounts
                .read()
                .iter()
                .map(|mount| (mount.path.clone(), mount.fs.name())),
        );
        list
    }

    /// Returns the file system that `location` belongs to.
    pub fn filesystem_of(&self, location: &Location) -> Arc<dyn FileSystem> {
        self.filesystem_of_node(location.node())
    }

    /// Returns the file system that `node` belongs to.
    pub fn filesystem_of_node(&self, node: &NodeRef) -> Arc<dyn FileSystem> {
        let dev = node.id().dev;
        self.mounts
            .read()
            .iter()
            .find(|mount| mount.root.id().dev == dev)
            .map(|mount| mount.fs.clone())
            .unwrap_or_else(|| self.root_fs.clone())
    }

    /// Replaces a mount point by the root of the file system mounted on it.
    fn cover(&self, node: NodeRef) -> NodeRef {
        if node.node_type() != NodeType::Directory {
            return node;
        }
        let mounts = self.mounts.read();
        if mounts.is_empty() {
            return node;
        }
        let id = node.id();
        match mounts.iter().find(|mount| mount.point == id) {
            Some(mount) => mount.root.clone(),
            None => node,
        }
    }

    /// Resolves `path` from `base` (used when `path` is relative).
    ///
    /// `follow_last` selects whether a symbolic link in the last component is
    /// followed; links in earlier components always are, and so is the last
    /// one when the path ends with `/`.
    pub fn resolve(&self, base: &Location, path: &str, follow_last: bool) -> VfsResult<Location> {
        check_path_length(path)?;
        let mut walk = Walk::new(self, base, path);
        walk.walk(0, follow_last)?;
        Ok(walk.into_location())
    }

    /// Resolves `path` from `base` as [`MountTable::resolve`] does, but
    /// returns only the node, without building its [`Location`].
    pub fn resolve_node(&self, base: &Location, path: &str, follow_last: bool) -> VfsResult<NodeRef> {
        check_path_length(path)?;
        let mut walk = Walk::new(self, base, path);
        walk.walk(0, follow_last)?;
        Ok(walk.into_node())
    }

    /// Resolves every component of `path` but the last, which is returned as
    /// a name, for operations that create or remove that name.
    pub fn resolve_parent<'a>(&self, base: &Location, path: &'a str) -> VfsResult<ParentAndName<'a>> {
        check_path_length(path)?;
        let trimmed = path.trim_end_matches('/');
        let trailing_slash = trimmed.len() != path.len();
        if trimmed.is_empty() {
            // "/" or "//": the root itself.
            return Ok(ParentAndName {
                parent: self.root(),
                name: ".",
                trailing_slash,
            });
        }
        let (dir_part, name) = match trimmed.rfind('/') {
            Some(index) => (&trimmed[..=index], &trimmed[index + 1..]),
            None => ("", trimmed),
        };
        if name.len() > NAME_MAX {
            return Err(LinuxError::ENAMETOOLONG);
        }
        let mut walk = Walk::new(self, base, dir_part);
        if !dir_part.is_empty() {
            walk.walk(0, true)?;
        }
        if walk.node().node_type() != NodeType::Directory {
            return Err(LinuxError::ENOTDIR);
        }
        Ok(ParentAndName {
            parent: walk.into_location(),
            name,
            trailing_slash,
        })
    }

    /// Looks up `name` in the directory `parent` and crosses a mount point,
    /// without following a symbolic link. Handles `.` and `..`.
    pub fn lookup_child(&self, parent: &Location, name: &str) -> VfsResult<Location> {
        let mut walk = Walk::new(self, parent, name);
        walk.step(0, 0, name.len(), false)?;
        Ok(walk.into_location())
    }
}

fn check_path_length(path: &str) -> VfsResult<()> {
    // PATH_MAX counts the terminating NUL.
    if path.len() >= PATH_MAX {
        return Err(LinuxError::ENAMETOOLONG);
    }
    Ok(())
}
