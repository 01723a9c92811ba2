"""Materials: the files of a case's application, against its region's checklist (tasks/regions.toml).

Each upload is checked by content (tasks/materials.py) and becomes a new version of its checklist item; nothing is
ever replaced, so the file a decision was made on can always be opened again. The list of a case's materials goes
by the checklist of its region and institution type, marking what is required and still missing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from adapters.outside.db import Instance, Material
from adapters.outside.repository import UnitOfWork
from tasks.errors import IllegalEvent, NotFound
from tasks.materials import FILE_TYPES, MaterialFile, MaterialRefused, check_material_file
from tasks.prechecks import missing_materials
from tasks.regions import MaterialItem, RegionProfile, profile_for_region
from workflows import clock
from workflows.service.base import Capability, audit_system, local

# Files a case keeps that are not the institution's application materials: what they are, as the case page names
# them. They are versions of their own item, kept and never overwritten as materials are.
ATTACHMENTS: Final = {"objection_evidence": "公示异议材料"}


class Materials(Capability):
    """Uploading, listing and opening a case's materials."""

    def upload(self, case_id: str, item: str, file_name: str, content: bytes, actor: str) -> dict[str, Any]:
        """Store a file as the next version of `item` for the case; MaterialRefused (nothing stored) when the file,
        the item or the case does not allow it."""
        upload = checked_upload(item, file_name, content)
        with self.uow() as uow:
            instance = uow.repo.instance(case_id, for_update=True)
            if instance is None:
                raise NotFound(f"案件 {case_id} 不存在")
            if instance.completed_at is not None:
                raise IllegalEvent(f"案件 {case_id} 已办结，不能再上传材料")
            view = store(uow, instance, upload, actor)
            uow.commit()
            return view

    def of_case(self, case_id: str) -> list[dict[str, Any]]:
        """The case's checklist, item by item, each with its versions (newest last), what the application declared of
        it (its title, and the route to verify it online, Sichuan 五) and whether it is missing: a required item with
        neither a file nor such a route. Files of items no longer on the checklist are listed after it."""
        with self.reading() as uow:
            instance = uow.repo.instance(case_id)
            if instance is None:
                raise NotFound(f"案件 {case_id} 不存在")
            versions: dict[str, list[dict[str, Any]]] = {}
            for material in uow.repo.materials(case_id):
                versions.setdefault(material.item, []).append(_version_view(material))
            profile, institution_type = _profile(instance), _institution_type(instance)
            declared = _declared(instance)
            missing = {item.key for item in missing_materials(instance.application, profile, versions)}
        listed = [_item_view(entry, versions.pop(entry.key, []), declared.get(entry.key, []), entry.key in missing)
                  for entry in profile.materials_for(institution_type)]
        # Files of an item this checklist no longer asks of the institution (its type corrected, say) stay listed.
        listed += [_item_view(profile.material(key) or MaterialItem(key, ATTACHMENTS.get(key, key), None, False),
                              files, [], False, on_checklist=False)
                   for key, files in sorted(versions.items())]
        return listed

    def version(self, material_id: int) -> dict[str, Any]:
        """A stored version's description, without its bytes (to decide whether its reader may open it)."""
        with self.reading() as uow:
            material = uow.repo.material(material_id)
            if material is None:
                raise NotFound(f"材料 {material_id} 不存在")
            return _version_view(material)

    def open(self, material_id: int) -> tuple[dict[str, Any], bytes]:
        """A stored version and its bytes, exactly as uploaded."""
        with self.reading() as uow:
            material = uow.repo.material(material_id)
            if material is None:
                raise NotFound(f"材料 {material_id} 不存在")
            return _version_view(material), uow.repo.material_content(material.sha256)


@dataclass(frozen=True)
class Upload:
    """A file checked by its content (tasks/materials.py), for the checklist item `item`; not yet stored."""

    item: str
    file: MaterialFile
    content: bytes


def checked_upload(item: str, file_name: str, content: bytes) -> Upload:
    """The file checked by its content, before any unit of work begins (MaterialRefused saying why)."""
    return Upload(item, check_material_file(file_name, content), content)


def check_items(uploads: Sequence[Upload], region: str, institution_type: str) -> None:
    """MaterialRefused unless every upload is for an item of the checklist of the region and institution type."""
    profile = profile_for_region(region)
    for upload in uploads:
        _checklist_item(profile, upload.item, institution_type)


def store(uow: UnitOfWork, instance: Instance, upload: Upload, actor: str) -> dict[str, Any]:
    """Keep the upload as the next version of its item (in the caller's unit of work), with its audit entry."""
    entry = _checklist_item(_profile(instance), upload.item, _institution_type(instance))
    checked = upload.file
    material = uow.repo.add_material(
        instance.case_id, entry.key, file_name=checked.file_name, media_type=checked.file_type.media_type,
        sha256=checked.sha256, content=upload.content, uploaded_by=actor, uploaded_at=clock.now())
    said = f"上传材料：{entry.name}（第 {material.version} 版）{checked.file_name}"
    audit_system(uow, actor, "material_uploaded", said, case_id=instance.case_id, material=material.id,
                 item=entry.key, version=material.version, sha256=checked.sha256)
    return _version_view(material)


def store_attachment(uow: UnitOfWork, instance: Instance, upload: Upload, actor: str) -> dict[str, Any]:
    """Keep a file that is not an application material (ATTACHMENTS names what its item may be) as the next version
    of its item, with its audit entry, in the caller's unit of work."""
    name = ATTACHMENTS[upload.item]
    checked = upload.file
    material = uow.repo.add_material(
        instance.case_id, upload.item, file_name=checked.file_name, media_type=checked.file_type.media_type,
        sha256=checked.sha256, content=upload.content, uploaded_by=actor, uploaded_at=clock.now())
    audit_system(uow, actor, "material_uploaded", f"上传{name}：{checked.file_name}", case_id=instance.case_id,
                 material=material.id, item=upload.item, version=material.version, sha256=checked.sha256)
    return _version_view(material)


def _profile(instance: Instance) -> RegionProfile:
    return profile_for_region(instance.region)


def _institution_type(instance: Instance) -> str:
    return str(instance.application.get("institution", {}).get("type", ""))


def _checklist_item(profile: RegionProfile, key: str, institution_type: str) -> MaterialItem:
    entry = next((item for item in profile.materials_for(institution_type) if item.key == key), None)
    if entry is None:
        names = "、".join(item.name for item in profile.materials_for(institution_type))
        raise MaterialRefused(f"“{key}”不是{profile.name}申请材料清单中的材料（清单：{names}）")
    return entry


def _declared(instance: Instance) -> dict[str, list[dict[str, str]]]:
    """Item -> what the application declared of it: each entry's title and online verification route ("" if none)."""
    declared: dict[str, list[dict[str, str]]] = {}
    for entry in instance.application.get("materials", ()):
        declared.setdefault(entry["kind"], []).append({"title": entry["title"], "online": entry.get("reference", "")})
    return declared


def _item_view(entry: MaterialItem, versions: list[dict[str, Any]], declared: list[dict[str, str]], missing: bool,
               on_checklist: bool = True) -> dict[str, Any]:
    """One line of the checklist; an item no longer on it (`on_checklist` False) is never required."""
    return {"item": entry.key, "name": entry.name, "article": entry.article or "", "on_checklist": on_checklist,
            "required": entry.required and on_checklist,
            "note": entry.note or "", "borrowed_from": entry.borrowed_from, "versions": versions,
            "declared": declared, "missing": missing}


_INLINE = {kind.media_type for kind in FILE_TYPES if kind.inline}


def _version_view(material: Material) -> dict[str, Any]:
    return {"id": material.id, "case": material.case_id, "item": material.item, "version": material.version,
            "file_name": material.file_name, "media_type": material.media_type, "size": material.size,
            "sha256": material.sha256, "inline": material.media_type in _INLINE,
            "uploaded_by": material.uploaded_by, "uploaded_at": local(material.uploaded_at)}
