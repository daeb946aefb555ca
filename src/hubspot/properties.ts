// HubSpot contact properties of the product (interfaces.md), group `line`.

export const LINE_PROPERTY_GROUP = { name: 'line', label: 'LINE', displayOrder: -1 } as const;

import { CREATED_VIA, FOLLOW_STATES, type CreatedVia, type LineFollow } from '../contact/types.ts';

export { CREATED_VIA, FOLLOW_STATES, type CreatedVia, type LineFollow };

export interface PropertyDefinition {
  name: string;
  label: string;
  description: string;
  type: 'string' | 'date' | 'datetime' | 'enumeration' | 'number';
  fieldType: 'text' | 'textarea' | 'date' | 'select' | 'number';
  groupName: string;
  hasUniqueValue?: boolean;
  options?: Array<{ label: string; value: string; displayOrder: number; hidden: boolean }>;
}

const options = (values: readonly string[]) => values.map((value, displayOrder) => ({ label: value, value, displayOrder, hidden: false }));

export const LINE_PROPERTIES: readonly PropertyDefinition[] = [
  {
    name: 'line_user_id',
    label: 'LINE User ID',
    description: 'LINE user ID of the friend (U + 32 hex). Unique; never changed.',
    type: 'string',
    fieldType: 'text',
    groupName: 'line',
    hasUniqueValue: true,
  },
  { name: 'line_user_name', label: 'LINE User Name', description: 'LINE display name', type: 'string', fieldType: 'text', groupName: 'line' },
  { name: 'line_user_picture', label: 'LINE User Picture', description: 'URL of the LINE profile picture', type: 'string', fieldType: 'text', groupName: 'line' },
  {
    name: 'line_id_sync_date',
    label: 'LINE ID Sync Date',
    description: 'Date the LINE user ID was first synced to HubSpot',
    type: 'date',
    fieldType: 'date',
    groupName: 'line',
  },
  {
    name: 'line_follow',
    label: 'LINE Follow',
    description: 'YES: follows the LINE Official Account; NO: blocked it',
    type: 'enumeration',
    fieldType: 'select',
    groupName: 'line',
    options: options(FOLLOW_STATES),
  },
  {
    name: 'line_follow_changed_at',
    label: 'LINE Follow Changed At',
    description: 'Time of the LINE observation that set LINE Follow',
    type: 'datetime',
    fieldType: 'date',
    groupName: 'line',
  },
  {
    name: 'line_created_via',
    label: 'LINE Created Via',
    description: 'How the contact first became a LINE contact',
    type: 'enumeration',
    fieldType: 'select',
    groupName: 'line',
    options: options(CREATED_VIA),
  },
  {
    name: 'line_last_message',
    label: 'LINE Last Message',
    description: "Text of the friend's latest LINE message; [sticker], [image], [video], [audio], [file] or [location] for other types",
    type: 'string',
    fieldType: 'textarea',
    groupName: 'line',
  },
  {
    name: 'line_last_message_at',
    label: 'LINE Last Message At',
    description: "Time of the friend's latest LINE message",
    type: 'datetime',
    fieldType: 'date',
    groupName: 'line',
  },
  { name: 'line_language', label: 'LINE Language', description: 'Language of the LINE profile, when LINE gives one', type: 'string', fieldType: 'text', groupName: 'line' },
];

export const LINE_PROPERTY_NAMES = LINE_PROPERTIES.map((p) => p.name);
/** Properties read whenever the service looks at a contact. */
export const CONTACT_READ_PROPERTIES = ['email', ...LINE_PROPERTY_NAMES];
